/* xml.c - the small libxml2 helpers of xml.h: parsing untrusted XML with
 * no network and no entities, element tests by name and namespace,
 * attributes, and an element's text. */
#include "docs/xml.h"

#include <libxml/parser.h>
#include <limits.h>
#include <string.h>

xmlDoc *xml_parse(const void *data, size_t len)
{
    if (len > INT_MAX)
        return NULL;
    return xmlReadMemory(data, (int)len, NULL, NULL,
                         XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                             XML_PARSE_RECOVER | XML_PARSE_COMPACT);
}

int xml_is(const xmlNode *n, const char *local)
{
    return n && n->type == XML_ELEMENT_NODE && n->name && !strcmp((const char *)n->name, local);
}

const char *xml_attr(const xmlNode *n, const char *local)
{
    if (!n || n->type != XML_ELEMENT_NODE)
        return NULL;
    for (const xmlAttr *a = n->properties; a; a = a->next)
        if (a->name && !strcmp((const char *)a->name, local)) {
            const xmlNode *v = a->children;
            if (v && (v->type == XML_TEXT_NODE) && v->content && !v->next)
                return (const char *)v->content;
            return v && v->content ? (const char *)v->content : "";
        }
    return NULL;
}

const char *xml_attr_ns(const xmlNode *n, const char *local, const char *ns_suffix)
{
    if (!n || n->type != XML_ELEMENT_NODE)
        return NULL;
    size_t m = strlen(ns_suffix);
    for (const xmlAttr *a = n->properties; a; a = a->next) {
        const char *href = a->ns && a->ns->href ? (const char *)a->ns->href : "";
        size_t h = strlen(href);
        if (a->name && !strcmp((const char *)a->name, local) && h >= m &&
            !strcmp(href + h - m, ns_suffix))
            return a->children && a->children->content ? (const char *)a->children->content : "";
    }
    return NULL;
}

xmlNode *xml_child(const xmlNode *n, const char *local)
{
    if (!n)
        return NULL;
    for (xmlNode *c = n->children; c; c = c->next)
        if (xml_is(c, local))
            return c;
    return NULL;
}

static xmlNode *find(xmlNode *n, const char *local, int depth)
{
    if (depth > 256)
        return NULL;
    for (xmlNode *c = n; c; c = c->next) {
        if (xml_is(c, local))
            return c;
        if (c->type == XML_ELEMENT_NODE) {
            xmlNode *r = find(c->children, local, depth + 1);
            if (r)
                return r;
        }
    }
    return NULL;
}

xmlNode *xml_find(xmlNode *n, const char *local)
{
    return n ? find(n->children, local, 0) : NULL;
}

static void text(const xmlNode *n, struct buf *out, int depth)
{
    if (depth > 256)
        return;
    for (const xmlNode *c = n->children; c; c = c->next) {
        if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content)
            buf_adds(out, (const char *)c->content);
        else if (c->type == XML_ELEMENT_NODE)
            text(c, out, depth + 1);
    }
}

void xml_text(const xmlNode *n, struct buf *out)
{
    if (n)
        text(n, out, 0);
}
