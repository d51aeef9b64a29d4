/* EPUB: META-INF/container.xml names the package document (OPF); its spine
 * gives the chapters in reading order, each read as XHTML (html.h) into one
 * record. Dublin Core metadata comes from the OPF. */
#include <stdlib.h>
#include <string.h>

#include "docs/charset.h"
#include "docs/container.h"
#include "docs/html.h"
#include "base/record.h"
#include "docs/textdoc.h"
#include "docs/xml.h"

int epub_extract(struct extract_doc *d, lode_error *err)
{
    xmlDoc *container = container_xml(d, "META-INF/container.xml", err);
    if (!container)
        return -1;
    xmlNode *rootfile = xml_find(xmlDocGetRootElement(container), "rootfile");
    const char *full = xml_attr(rootfile, "full-path");
    if (!full) {
        lode_seterr(err, "META-INF/container.xml names no package document");
        xmlFreeDoc(container);
        return -1;
    }
    char *opf_name = container_resolve("", full, 1);
    xmlFreeDoc(container);
    xmlDoc *opf = container_xml(d, opf_name, err);
    if (!opf) {
        free(opf_name);
        return -1;
    }
    xmlNode *pkg = xmlDocGetRootElement(opf);
    container_dublin_core(xml_child(pkg, "metadata"), d->meta);
    xmlNode *manifest = xml_child(pkg, "manifest");
    xmlNode *spine = xml_child(pkg, "spine");
    struct textdoc td;
    textdoc_init(&td);
    int chapters = 0;
    for (xmlNode *ref = spine ? spine->children : NULL; ref; ref = ref->next) {
        if (!xml_is(ref, "itemref"))
            continue;
        const char *idref = xml_attr(ref, "idref");
        const char *href = NULL;
        for (xmlNode *it = manifest ? manifest->children : NULL; idref && it; it = it->next)
            if (xml_is(it, "item") && xml_attr(it, "id") && !strcmp(xml_attr(it, "id"), idref))
                href = xml_attr(it, "href");
        if (!href)
            continue;
        char *part = container_resolve(opf_name, href, 1);
        struct blob b;
        lode_error e;
        if (container_read(d, part, &b, &e) == 0) {
            char declared[64];
            const char *decl =
                charset_sniff_declared((const char *)b.data, b.len, declared, sizeof declared) == 0
                ? declared
                : NULL;
            size_t len;
            char *utf8 = charset_to_utf8((const char *)b.data, b.len, decl, &len, NULL);
            if (html_render(utf8, len, &td, NULL, 0) == 0)
                chapters++;
            free(utf8);
            blob_free(&b);
        }
        free(part);
    }
    free(opf_name);
    xmlFreeDoc(opf);
    if (!chapters) {
        textdoc_free(&td);
        lode_seterr(err, "the EPUB spine names no readable chapters");
        return -1;
    }
    size_t n;
    char *text = textdoc_finish(&td, &n);
    extract_page(d, 1, 1, text, n, NULL, 0);
    free(text);
    return 0;
}
