/* container.h - parts of zip-based documents (OOXML, ODF, EPUB): reading a
 * member as bytes or parsed XML, resolving relative part names, and the
 * Dublin Core metadata they share.
 */
#ifndef LODE_CONTAINER_H
#define LODE_CONTAINER_H

#include <libxml/tree.h>

#include "docs/extract.h"

/* Reads a member of the document's container; 1 when it does not exist. */
int container_read(struct extract_doc *d, const char *name, struct blob *out, lode_error *err);
/* Reads and parses an XML member; NULL with a reason (missing or broken). */
xmlDoc *container_xml(struct extract_doc *d, const char *name, lode_error *err);
/* Resolves target relative to the directory of part ("ppt/slides/s1.xml" +
 * "../media/x" -> "ppt/media/x"); a leading '/' means the container root.
 * Percent escapes are decoded and a "#fragment" dropped when href is set. */
char *container_resolve(const char *part, const char *target, int href);
/* Dublin Core and ODF meta fields (title, creator, created, modified,
 * language) found under root into meta. */
void container_dublin_core(xmlNode *root, json_t *meta);

#endif
