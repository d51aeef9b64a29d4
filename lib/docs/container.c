/* container.c - the zip-based documents' parts (container.h): a member read
 * through libarchive as bytes or parsed XML, relative part names resolved
 * against their part, and the Dublin Core metadata into meta. */
#include "docs/container.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "docs/xml.h"

int container_read(struct extract_doc *d, const char *name, struct blob *out, lode_error *err)
{
    int rc = unpack_read(d->data, d->source, name, &d->opts->limits, d->budget, out, err);
    if (rc > 0)
        lode_seterr(err, "the container has no %s", name);
    return rc;
}

xmlDoc *container_xml(struct extract_doc *d, const char *name, lode_error *err)
{
    struct blob b;
    if (container_read(d, name, &b, err) != 0)
        return NULL;
    xmlDoc *x = xml_parse(b.data, b.len);
    blob_free(&b);
    if (!x || !xmlDocGetRootElement(x)) {
        if (x)
            xmlFreeDoc(x);
        lode_seterr(err, "%s is not well-formed XML", name);
        return NULL;
    }
    return x;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

char *container_resolve(const char *part, const char *target, int href)
{
    struct buf path = {0};
    if (target[0] != '/') {
        const char *slash = strrchr(part, '/');
        if (slash)
            buf_add(&path, part, (size_t)(slash - part) + 1);
    }
    for (const char *t = target; *t; t++) {
        if (href && *t == '#')
            break;
        if (href && *t == '%' && hexval(t[1]) >= 0 && hexval(t[2]) >= 0) {
            buf_addc(&path, (char)(hexval(t[1]) * 16 + hexval(t[2])));
            t += 2;
            continue;
        }
        buf_addc(&path, *t);
    }
    /* normalise: drop "", "." and resolve ".." */
    char *s = buf_release(&path);
    char **parts = NULL;
    size_t n = 0;
    for (char *save = NULL, *tok = strtok_r(s, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
        if (!strcmp(tok, "."))
            continue;
        if (!strcmp(tok, "..")) {
            if (n)
                n--;
            continue;
        }
        parts = xreallocarray(parts, n + 1, sizeof *parts);
        parts[n++] = tok;
    }
    struct buf out = {0};
    for (size_t i = 0; i < n; i++) {
        if (i)
            buf_addc(&out, '/');
        buf_adds(&out, parts[i]);
    }
    free(parts);
    free(s);
    return buf_release(&out);
}

static void dc(xmlNode *n, json_t *meta, int depth)
{
    if (depth > 16)
        return;
    for (xmlNode *c = n; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        const char *key = NULL;
        if (xml_is(c, "title"))
            key = "title";
        else if (xml_is(c, "creator") || xml_is(c, "initial-creator"))
            key = "author";
        else if (xml_is(c, "created") || xml_is(c, "creation-date"))
            key = "created";
        else if (xml_is(c, "modified"))
            key = "modified";
        else if (xml_is(c, "date"))
            /* ODF's office:meta dc:date is the last change; EPUB's the
             * publication */
            key = xml_is(c->parent, "meta") ? "modified" : "created";
        else if (xml_is(c, "language"))
            key = "lang";
        else if (xml_is(c, "subject"))
            key = "subject";
        if (key) {
            if (!json_object_get(meta, key)) {
                struct buf t = {0};
                xml_text(c, &t);
                extract_meta_str(meta, key, t.data);
                buf_free(&t);
            }
            continue;
        }
        dc(c->children, meta, depth + 1);
    }
}

void container_dublin_core(xmlNode *root, json_t *meta)
{
    if (root)
        dc(root, meta, 0);
}
