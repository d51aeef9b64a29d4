/* OpenDocument: ODT, ODP, ODS (content.xml, meta.xml).
 *
 * ODT: text:h headings at their outline level, text:p paragraphs, nested
 * text:list items, tables as rows, sections and text boxes in order; notes
 * are cited "[n]" and follow the text as "[n] text"; tables of contents and
 * indexes (generated copies of the headings) and tracked deletions are
 * left out.
 * ODP: one record per slide (draw:page): the title frame as the heading,
 * outline frames as list items, tables as rows, then "Notes: ...".
 * ODS: one record per sheet (meta.sheet), rows of cells joined by " | ";
 * repeated empty rows and cells are not expanded. */
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "docs/container.h"
#include "base/record.h"
#include "docs/textdoc.h"
#include "docs/xml.h"

#define ODF_MAX_REPEAT 256 /* repeated non-empty rows or cells written at most */

struct odf {
    struct textdoc td;
    struct buf notes; /* "[n] text" blocks */
    int nnotes;
    int list_depth;
    int in_item;
};

static void odf_blocks(struct odf *o, xmlNode *n, int depth);

static void odf_inline(struct odf *o, xmlNode *n, int depth)
{
    if (depth > 64)
        return;
    for (xmlNode *c = n->children; c; c = c->next) {
        if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) {
            if (c->content)
                textdoc_texts(&o->td, (const char *)c->content);
            continue;
        }
        if (c->type != XML_ELEMENT_NODE)
            continue;
        const char *name = (const char *)c->name;
        if (!strcmp(name, "s")) {
            textdoc_space(&o->td);
        } else if (!strcmp(name, "tab")) {
            textdoc_space(&o->td);
        } else if (!strcmp(name, "line-break")) {
            textdoc_linebreak(&o->td);
        } else if (!strcmp(name, "note")) {
            char mark[32];
            snprintf(mark, sizeof mark, "[%d]", ++o->nnotes);
            textdoc_texts(&o->td, mark);
            struct odf sub;
            memset(&sub, 0, sizeof sub);
            textdoc_init(&sub.td);
            odf_blocks(&sub, xml_child(c, "note-body") ? xml_child(c, "note-body") : c, depth + 1);
            size_t len;
            char *s = textdoc_finish(&sub.td, &len);
            for (char *p = s; *p; p++)
                if (*p == '\n')
                    *p = ' ';
            if (o->notes.len)
                buf_adds(&o->notes, "\n\n");
            buf_addf(&o->notes, "[%d] %s", o->nnotes, s);
            free(s);
            buf_free(&sub.notes);
        } else if (!strcmp(name, "annotation") || !strcmp(name, "note-citation") ||
                   !strcmp(name, "tracked-changes") || !strcmp(name, "deletion")) {
            continue;
        } else if (!strcmp(name, "frame") || !strcmp(name, "text-box")) {
            /* a frame anchored in a paragraph: its text box holds blocks */
            odf_blocks(o, c, depth + 1);
        } else {
            odf_inline(o, c, depth + 1); /* span, a, ruby, meta, ... */
        }
    }
}

static void odf_table(struct odf *o, xmlNode *table, int depth)
{
    textdoc_end(&o->td);
    for (xmlNode *c = table->children; c; c = c->next) {
        if (xml_is(c, "table-row")) {
            const char *rep = xml_attr(c, "number-rows-repeated");
            long times = rep ? strtol(rep, NULL, 10) : 1;
            if (times < 1)
                times = 1;
            if (times > ODF_MAX_REPEAT)
                times = ODF_MAX_REPEAT;
            for (long t = 0; t < times; t++) {
                textdoc_row_begin(&o->td);
                long pending = 0; /* empty cells not yet written */
                for (xmlNode *cell = c->children; cell; cell = cell->next) {
                    if (!xml_is(cell, "table-cell") && !xml_is(cell, "covered-table-cell"))
                        continue;
                    const char *crep = xml_attr(cell, "number-columns-repeated");
                    long ctimes = crep ? strtol(crep, NULL, 10) : 1;
                    if (ctimes < 1)
                        ctimes = 1;
                    struct buf probe = {0};
                    xml_text(cell, &probe);
                    int empty = probe.len == 0 || xml_is(cell, "covered-table-cell");
                    buf_free(&probe);
                    if (empty) {
                        pending += ctimes > ODF_MAX_REPEAT ? ODF_MAX_REPEAT : ctimes;
                        continue;
                    }
                    if (ctimes > ODF_MAX_REPEAT)
                        ctimes = ODF_MAX_REPEAT;
                    for (; pending > 0; pending--) {
                        textdoc_cell_begin(&o->td);
                        textdoc_cell_end(&o->td);
                    }
                    for (long k = 0; k < ctimes; k++) {
                        textdoc_cell_begin(&o->td);
                        odf_blocks(o, cell, depth + 1);
                        textdoc_cell_end(&o->td);
                    }
                }
                textdoc_row_end(&o->td);
            }
        } else if (xml_is(c, "table-header-rows") || xml_is(c, "table-rows") ||
                   xml_is(c, "table-row-group")) {
            odf_table(o, c, depth + 1);
        }
    }
    textdoc_end(&o->td);
}

static void odf_blocks(struct odf *o, xmlNode *n, int depth)
{
    if (!n || depth > 64)
        return;
    for (xmlNode *c = n->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        const char *name = (const char *)c->name;
        if (!strcmp(name, "h")) {
            const char *lv = xml_attr(c, "outline-level");
            if (o->in_item) {
                textdoc_space(&o->td);
            } else {
                textdoc_begin(&o->td, TD_HEADING, lv ? atoi(lv) : 1);
            }
            odf_inline(o, c, depth + 1);
            if (!o->in_item)
                textdoc_end(&o->td);
        } else if (!strcmp(name, "p")) {
            if (o->in_item == 1) {
                textdoc_begin(&o->td, TD_ITEM, o->list_depth - 1);
                o->in_item = 2;
            } else if (o->in_item) {
                textdoc_space(&o->td);
            } else {
                textdoc_begin(&o->td, TD_PARA, 0);
            }
            odf_inline(o, c, depth + 1);
            if (!o->in_item)
                textdoc_end(&o->td);
        } else if (!strcmp(name, "list")) {
            int saved = o->in_item;
            o->list_depth++;
            o->in_item = 0;
            odf_blocks(o, c, depth + 1);
            o->list_depth--;
            o->in_item = saved;
            textdoc_end(&o->td);
        } else if (!strcmp(name, "list-item") || !strcmp(name, "list-header")) {
            o->in_item = 1; /* the first paragraph starts the item */
            odf_blocks(o, c, depth + 1);
            o->in_item = 0;
            textdoc_end(&o->td);
        } else if (!strcmp(name, "table")) {
            odf_table(o, c, depth + 1);
        } else if (!strcmp(name, "table-of-content") || !strcmp(name, "alphabetical-index") ||
                   !strcmp(name, "illustration-index") || !strcmp(name, "table-index") ||
                   !strcmp(name, "object-index") || !strcmp(name, "user-index") ||
                   !strcmp(name, "bibliography") || !strcmp(name, "tracked-changes") ||
                   !strcmp(name, "sequence-decls") || !strcmp(name, "forms") ||
                   !strcmp(name, "annotation") || !strcmp(name, "notes")) {
            continue;
        } else {
            /* section, frame, text-box, g, custom-shape, soft-page-break... */
            odf_blocks(o, c, depth + 1);
        }
    }
}

static void odf_finish_notes(struct odf *o)
{
    if (o->notes.len)
        textdoc_append_block(&o->td, o->notes.data, o->notes.len);
    buf_reset(&o->notes);
}

static void odp_page(struct odf *o, xmlNode *page)
{
    for (xmlNode *c = page->children; c; c = c->next) {
        if (xml_is(c, "frame")) {
            const char *cls = xml_attr(c, "class");
            if (cls &&
                (!strcmp(cls, "page-number") || !strcmp(cls, "date-time") ||
                 !strcmp(cls, "footer") || !strcmp(cls, "header")))
                continue;
            if (cls && !strcmp(cls, "title")) {
                textdoc_begin(&o->td, TD_HEADING, 1);
                o->in_item = 0;
                struct buf t = {0};
                xml_text(c, &t);
                if (t.len)
                    textdoc_text(&o->td, t.data, t.len);
                buf_free(&t);
                textdoc_end(&o->td);
            } else {
                odf_blocks(o, c, 0);
            }
        } else if (xml_is(c, "notes")) {
            struct odf sub;
            memset(&sub, 0, sizeof sub);
            textdoc_init(&sub.td);
            for (xmlNode *f = c->children; f; f = f->next) {
                const char *cls = xml_attr(f, "class");
                if (xml_is(f, "frame") && cls && !strcmp(cls, "notes"))
                    odf_blocks(&sub, f, 0);
            }
            size_t n;
            char *s = textdoc_finish(&sub.td, &n);
            buf_free(&sub.notes);
            if (n) {
                char *block = xasprintf("Notes: %s", s);
                textdoc_append_block(&o->td, block, strlen(block));
                free(block);
            }
            free(s);
        } else if (c->type == XML_ELEMENT_NODE) {
            odf_blocks(o, c, 0);
        }
    }
}

int odf_extract(struct extract_doc *d, lode_error *err)
{
    xmlDoc *content = container_xml(d, "content.xml", err);
    if (!content)
        return -1;
    lode_error e;
    xmlDoc *meta = container_xml(d, "meta.xml", &e);
    if (meta) {
        container_dublin_core(xmlDocGetRootElement(meta), d->meta);
        xmlFreeDoc(meta);
    }
    xmlNode *body = xml_find(xmlDocGetRootElement(content), "body");
    struct odf o;
    memset(&o, 0, sizeof o);
    int rc = 0;
    if (!strcmp(d->type, "odt")) {
        textdoc_init(&o.td);
        odf_blocks(&o, xml_child(body, "text"), 0);
        odf_finish_notes(&o);
        size_t n;
        char *text = textdoc_finish(&o.td, &n);
        extract_page(d, 1, 1, text, n, NULL, 0);
        free(text);
    } else {
        int pres = !strcmp(d->type, "odp");
        xmlNode *parent = xml_child(body, pres ? "presentation" : "spreadsheet");
        const char *unit = pres ? "page" : "table";
        int pages = 0, page = 0;
        for (xmlNode *c = parent ? parent->children : NULL; c; c = c->next)
            pages += xml_is(c, unit);
        for (xmlNode *c = parent ? parent->children : NULL; c; c = c->next) {
            if (!xml_is(c, unit))
                continue;
            page++;
            memset(&o, 0, sizeof o);
            textdoc_init(&o.td);
            json_t *pm = json_object();
            if (pres) {
                odp_page(&o, c);
            } else {
                extract_meta_str(pm, "sheet", xml_attr(c, "name"));
                odf_table(&o, c, 0);
            }
            odf_finish_notes(&o);
            size_t n;
            char *text = textdoc_finish(&o.td, &n);
            extract_page(d, page, pages, text, n, pm, 0);
            free(text);
        }
        if (pages == 0) {
            lode_seterr(err,
                        pres ? "the presentation has no slides" : "the spreadsheet has no sheets");
            rc = -1;
        }
    }
    buf_free(&o.notes);
    xmlFreeDoc(content);
    return rc;
}
