/* xml.h - small helpers over libxml2 for the format readers.
 *
 * xml_parse() reads untrusted XML: no network, no external entities, no
 * entity expansion, libxml2's default size limits. Element and attribute
 * names are compared by local name, whatever their namespace prefix.
 */
#ifndef LODE_XML_H
#define LODE_XML_H

#include <libxml/tree.h>
#include <stddef.h>

#include "base/buf.h"

xmlDoc *xml_parse(const void *data, size_t len);
/* 1 when n is an element with this local name. */
int xml_is(const xmlNode *n, const char *local);
/* The value of the attribute with this local name, or NULL; no copy. */
const char *xml_attr(const xmlNode *n, const char *local);
/* The value of the attribute with this local name in the namespace whose
 * URI ends with ns_suffix (r:id is "id" in ".../relationships"). */
const char *xml_attr_ns(const xmlNode *n, const char *local, const char *ns_suffix);
/* The first child element with this local name, or NULL. */
xmlNode *xml_child(const xmlNode *n, const char *local);
/* The first descendant element with this local name (depth-first). */
xmlNode *xml_find(xmlNode *n, const char *local);
/* Appends all text under n (text and CDATA nodes) to out. */
void xml_text(const xmlNode *n, struct buf *out);

#endif
