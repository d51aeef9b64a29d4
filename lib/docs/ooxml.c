/* Office Open XML: DOCX, PPTX, XLSX.
 *
 * DOCX: the body of word/document.xml in order; paragraphs whose style (or
 * its base styles) is "heading N", "Title" or has an outline level become
 * headings; paragraphs with numbering become list items, numbered as
 * numbering.xml says (headings too); tables become
 * rows; text boxes, content controls and tracked insertions are read,
 * deletions are not; footnotes and endnotes are cited "[n]" where they are
 * referenced and follow the body as "[n] text".
 * PPTX: one record per slide in presentation order; the title placeholder
 * is the heading, body placeholders are list items, tables are rows; the
 * speaker notes follow as "Notes: ...".
 * XLSX: one record per sheet (meta.sheet); each row a line of cells joined
 * by " | ", shared strings resolved, cells in date formats written as ISO
 * dates. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "docs/container.h"
#include "base/record.h"
#include "docs/textdoc.h"
#include "docs/xml.h"

/* ---- shared: relationships and core properties ---- */

struct rel {
    char *id, *type, *target;
};

struct rels {
    struct rel *v;
    size_t n;
};

/* Loads the relationships of part ("ppt/presentation.xml" ->
 * "ppt/_rels/presentation.xml.rels"), targets resolved to part names. */
static void rels_load(struct extract_doc *d, const char *part, struct rels *r)
{
    memset(r, 0, sizeof *r);
    const char *slash = strrchr(part, '/');
    char *name = slash ? xasprintf("%.*s_rels/%s.rels", (int)(slash - part + 1), part, slash + 1)
                       : xasprintf("_rels/%s.rels", part);
    lode_error err;
    xmlDoc *x = container_xml(d, name, &err);
    free(name);
    if (!x)
        return;
    for (xmlNode *c = xmlDocGetRootElement(x)->children; c; c = c->next) {
        if (!xml_is(c, "Relationship"))
            continue;
        const char *id = xml_attr(c, "Id"), *type = xml_attr(c, "Type");
        const char *target = xml_attr(c, "Target"), *mode = xml_attr(c, "TargetMode");
        if (!id || !target || (mode && !strcasecmp(mode, "External")))
            continue;
        r->v = xreallocarray(r->v, r->n + 1, sizeof *r->v);
        r->v[r->n].id = xstrdup(id);
        r->v[r->n].type = xstrdup(type ? type : "");
        r->v[r->n].target = container_resolve(part, target, 0);
        r->n++;
    }
    xmlFreeDoc(x);
}

static const char *rels_target(const struct rels *r, const char *id)
{
    for (size_t i = 0; id && i < r->n; i++)
        if (!strcmp(r->v[i].id, id))
            return r->v[i].target;
    return NULL;
}

/* r:id, not the element's own id */
static const char *rel_id(const xmlNode *n)
{
    return xml_attr_ns(n, "id", "/relationships");
}

static const char *rels_type(const struct rels *r, const char *suffix)
{
    size_t m = strlen(suffix);
    for (size_t i = 0; i < r->n; i++) {
        size_t n = strlen(r->v[i].type);
        if (n >= m && !strcmp(r->v[i].type + n - m, suffix))
            return r->v[i].target;
    }
    return NULL;
}

static void rels_free(struct rels *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i].id);
        free(r->v[i].type);
        free(r->v[i].target);
    }
    free(r->v);
}

static void core_properties(struct extract_doc *d)
{
    lode_error err;
    xmlDoc *x = container_xml(d, "docProps/core.xml", &err);
    if (!x)
        return;
    container_dublin_core(xmlDocGetRootElement(x), d->meta);
    xmlFreeDoc(x);
}

/* mc:AlternateContent: the first Choice, else the Fallback. */
static xmlNode *alternate(xmlNode *n)
{
    xmlNode *c = xml_child(n, "Choice");
    return c ? c : xml_child(n, "Fallback");
}

/* ---- DOCX ---- */

struct style {
    char *id, *based_on;
    int heading;  /* 1..9, 0 none, -1 not set */
    int list;     /* has numbering */
    char *num_id; /* its numbering instance (numPr), NULL none */
    int ilvl;     /* its numPr's level, -1 not given */
};

/* numbering.xml: abstract definitions (levels) and the instances that
 * paragraphs name. Counters belong to the abstract definition, so lists of
 * one definition continue each other; an instance with a startOverride
 * restarts those levels where it is first used. */
#define NUM_LEVELS 9

struct numlvl {
    long start;
    enum td_numfmt fmt;
    char *text;   /* lvlText, "%1.%2." */
    char *pstyle; /* the paragraph style linked to this level */
    int legal;    /* isLgl: every level's number in decimal */
    int restart;  /* lvlRestart: -1 after any upper level, 0 never, k after level k */
};

struct abstractnum {
    char *id;
    char *style_link; /* numStyleLink: the levels are those of this list style */
    struct numlvl lv[NUM_LEVELS];
    long count[NUM_LEVELS];
    int started[NUM_LEVELS];
};

struct numinst {
    char *id;
    char *abstract_id;
    long override[NUM_LEVELS]; /* startOverride, -1 none */
    int applied;               /* the overrides were applied */
};

struct numbering {
    struct abstractnum *abs;
    size_t nabs;
    struct numinst *num;
    size_t nnum;
};

struct docx {
    struct extract_doc *d;
    struct textdoc td;
    struct style *styles;
    size_t nstyles;
    struct numbering nb;
    char **note_ids; /* "f:3" / "e:2" in order of first reference */
    size_t nnotes;
};

static int heading_from_name(const char *name)
{
    if (!name)
        return -1;
    if (!strcasecmp(name, "title"))
        return 1;
    if (!strncasecmp(name, "heading", 7)) {
        const char *p = name + 7;
        while (*p == ' ')
            p++;
        if (*p >= '1' && *p <= '9' && !p[1])
            return *p - '0';
    }
    return -1;
}

static void styles_load(struct docx *x)
{
    lode_error err;
    xmlDoc *doc = container_xml(x->d, "word/styles.xml", &err);
    if (!doc)
        return;
    for (xmlNode *c = xmlDocGetRootElement(doc)->children; c; c = c->next) {
        if (!xml_is(c, "style"))
            continue;
        const char *id = xml_attr(c, "styleId");
        if (!id)
            continue;
        struct style s = {xstrdup(id), NULL, -1, 0, NULL, -1};
        const char *name = xml_attr(xml_child(c, "name"), "val");
        s.heading = heading_from_name(name);
        const char *based = xml_attr(xml_child(c, "basedOn"), "val");
        if (based)
            s.based_on = xstrdup(based);
        xmlNode *ppr = xml_child(c, "pPr");
        const char *outline = xml_attr(xml_child(ppr, "outlineLvl"), "val");
        if (outline && s.heading < 0) {
            int lv = atoi(outline);
            s.heading = lv >= 0 && lv < 9 ? lv + 1 : 0;
        }
        xmlNode *numpr = xml_child(ppr, "numPr");
        s.list = numpr != NULL;
        const char *nid = xml_attr(xml_child(numpr, "numId"), "val");
        if (nid)
            s.num_id = xstrdup(nid);
        const char *il = xml_attr(xml_child(numpr, "ilvl"), "val");
        if (il)
            s.ilvl = atoi(il);
        x->styles = xreallocarray(x->styles, x->nstyles + 1, sizeof *x->styles);
        x->styles[x->nstyles++] = s;
    }
    xmlFreeDoc(doc);
}

static const struct style *style_get(const struct docx *x, const char *id)
{
    for (size_t i = 0; id && i < x->nstyles; i++)
        if (!strcmp(x->styles[i].id, id))
            return &x->styles[i];
    return NULL;
}

/* Heading level, list flag and numbering (instance, level; NULL and -1 when
 * not given) of a style, following basedOn. */
static void style_props(const struct docx *x, const char *id, int *heading, int *list,
                        const char **num_id, int *ilvl)
{
    *heading = 0;
    *list = 0;
    *num_id = NULL;
    *ilvl = -1;
    int heading_set = 0;
    for (int hops = 0; id && hops < 16; hops++) {
        const struct style *s = style_get(x, id);
        if (!s)
            break;
        if (!heading_set && s->heading >= 0) {
            *heading = s->heading;
            heading_set = 1;
        }
        *list |= s->list;
        if (!*num_id && s->num_id)
            *num_id = s->num_id;
        if (*ilvl < 0 && s->ilvl >= 0)
            *ilvl = s->ilvl;
        id = s->based_on;
    }
}

/* ---- DOCX numbering ---- */

static enum td_numfmt numfmt(const char *v)
{
    static const struct {
        const char *name;
        enum td_numfmt f;
    } t[] = {{"decimal", TD_NUM_DECIMAL},
             {"decimalZero", TD_NUM_DECIMAL_ZERO},
             {"lowerLetter", TD_NUM_LOWER_LETTER},
             {"upperLetter", TD_NUM_UPPER_LETTER},
             {"lowerRoman", TD_NUM_LOWER_ROMAN},
             {"upperRoman", TD_NUM_UPPER_ROMAN},
             {"bullet", TD_NUM_BULLET},
             {"none", TD_NUM_NONE}};
    for (size_t i = 0; v && i < sizeof t / sizeof t[0]; i++)
        if (!strcmp(v, t[i].name))
            return t[i].f;
    return TD_NUM_DECIMAL; /* ordinal, cardinalText, the Asian counts...: as numbers */
}

static long attr_long(const xmlNode *n, const char *child, long dflt)
{
    const char *v = xml_attr(xml_child(n, child), "val");
    if (!v)
        return dflt;
    long r = strtol(v, NULL, 10);
    return r < -1000000 ? -1000000 : r > 1000000 ? 1000000 : r;
}

static void numbering_load(struct docx *x)
{
    lode_error err;
    xmlDoc *doc = container_xml(x->d, "word/numbering.xml", &err);
    if (!doc)
        return;
    struct numbering *nb = &x->nb;
    for (xmlNode *c = xmlDocGetRootElement(doc)->children; c; c = c->next) {
        if (xml_is(c, "abstractNum") && xml_attr(c, "abstractNumId")) {
            nb->abs = xreallocarray(nb->abs, nb->nabs + 1, sizeof *nb->abs);
            struct abstractnum *a = &nb->abs[nb->nabs++];
            memset(a, 0, sizeof *a);
            a->id = xstrdup(xml_attr(c, "abstractNumId"));
            const char *link = xml_attr(xml_child(c, "numStyleLink"), "val");
            if (link)
                a->style_link = xstrdup(link);
            for (int l = 0; l < NUM_LEVELS; l++)
                a->lv[l].restart = -1;
            for (xmlNode *lv = c->children; lv; lv = lv->next) {
                const char *il = xml_attr(lv, "ilvl");
                int l = il ? atoi(il) : -1;
                if (!xml_is(lv, "lvl") || l < 0 || l >= NUM_LEVELS)
                    continue;
                struct numlvl *v = &a->lv[l];
                v->start = attr_long(lv, "start", 0);
                v->fmt = numfmt(xml_attr(xml_child(lv, "numFmt"), "val"));
                const char *t = xml_attr(xml_child(lv, "lvlText"), "val");
                free(v->text);
                v->text = t ? xstrdup(t) : NULL;
                const char *ps = xml_attr(xml_child(lv, "pStyle"), "val");
                free(v->pstyle);
                v->pstyle = ps ? xstrdup(ps) : NULL;
                xmlNode *lgl = xml_child(lv, "isLgl");
                const char *lglv = xml_attr(lgl, "val");
                v->legal = lgl && !(lglv && (!strcmp(lglv, "0") || !strcmp(lglv, "false")));
                v->restart = (int)attr_long(lv, "lvlRestart", -1);
            }
        } else if (xml_is(c, "num") && xml_attr(c, "numId")) {
            const char *aid = xml_attr(xml_child(c, "abstractNumId"), "val");
            if (!aid)
                continue;
            nb->num = xreallocarray(nb->num, nb->nnum + 1, sizeof *nb->num);
            struct numinst *n = &nb->num[nb->nnum++];
            memset(n, 0, sizeof *n);
            n->id = xstrdup(xml_attr(c, "numId"));
            n->abstract_id = xstrdup(aid);
            for (int l = 0; l < NUM_LEVELS; l++)
                n->override[l] = -1;
            for (xmlNode *o = c->children; o; o = o->next) {
                const char *il = xml_attr(o, "ilvl");
                int l = il ? atoi(il) : -1;
                if (xml_is(o, "lvlOverride") && l >= 0 && l < NUM_LEVELS &&
                    xml_child(o, "startOverride"))
                    n->override[l] = attr_long(o, "startOverride", 0);
            }
        }
    }
    xmlFreeDoc(doc);
}

static void numbering_free(struct numbering *nb)
{
    for (size_t i = 0; i < nb->nabs; i++) {
        for (int l = 0; l < NUM_LEVELS; l++) {
            free(nb->abs[i].lv[l].text);
            free(nb->abs[i].lv[l].pstyle);
        }
        free(nb->abs[i].id);
        free(nb->abs[i].style_link);
    }
    free(nb->abs);
    for (size_t i = 0; i < nb->nnum; i++) {
        free(nb->num[i].id);
        free(nb->num[i].abstract_id);
    }
    free(nb->num);
}

static struct numinst *num_get(struct docx *x, const char *id)
{
    for (size_t i = 0; id && i < x->nb.nnum; i++)
        if (!strcmp(x->nb.num[i].id, id))
            return &x->nb.num[i];
    return NULL;
}

/* The abstract definition of an instance, through one numStyleLink (a list
 * style whose numbering lives in another instance). */
static struct abstractnum *abstract_of(struct docx *x, const struct numinst *n)
{
    for (int hops = 0; n && hops < 4; hops++) {
        struct abstractnum *a = NULL;
        for (size_t i = 0; i < x->nb.nabs; i++)
            if (!strcmp(x->nb.abs[i].id, n->abstract_id))
                a = &x->nb.abs[i];
        if (!a || !a->style_link)
            return a;
        int h, l, il;
        const char *nid;
        style_props(x, a->style_link, &h, &l, &nid, &il);
        const struct numinst *next = num_get(x, nid);
        if (!next || next == n)
            return a;
        n = next;
    }
    return NULL;
}

/* Counts a paragraph at level l of instance num_id and writes its number as
 * Word renders it ("2.3.4."); "" when it has none, "-" for a bullet.
 * pstyle: the paragraph's style, for levels linked to styles. -1 when the
 * file does not define the instance. */
static int number_paragraph(struct docx *x, const char *num_id, int l, const char *pstyle,
                            struct buf *out)
{
    struct numinst *n = num_get(x, num_id);
    struct abstractnum *a = abstract_of(x, n);
    if (!a)
        return -1;
    if (l < 0) {
        l = 0;
        for (int k = 0; pstyle && k < NUM_LEVELS; k++)
            if (a->lv[k].pstyle && !strcmp(a->lv[k].pstyle, pstyle))
                l = k;
    }
    if (l >= NUM_LEVELS)
        l = NUM_LEVELS - 1;
    if (!n->applied) {
        n->applied = 1;
        for (int k = 0; k < NUM_LEVELS; k++)
            if (n->override[k] >= 0) {
                a->count[k] = n->override[k] - 1;
                a->started[k] = 1;
            }
    }
    a->count[l] = a->started[l] ? a->count[l] + 1 : a->lv[l].start;
    a->started[l] = 1;
    for (int k = l + 1; k < NUM_LEVELS; k++) {
        int r = a->lv[k].restart;
        if (r < 0 || (r > 0 && l < r))
            a->started[k] = 0;
    }
    const struct numlvl *v = &a->lv[l];
    if (v->fmt == TD_NUM_BULLET) {
        buf_adds(out, "-");
        return 0;
    }
    for (const char *p = v->text ? v->text : ""; *p; p++) {
        if (*p == '%' && p[1] >= '1' && p[1] <= '9') {
            int k = p[1] - '1';
            long val = k == l || a->started[k] ? a->count[k] : a->lv[k].start;
            textdoc_format_number(out, val, v->legal ? TD_NUM_DECIMAL : a->lv[k].fmt);
            p++;
        } else {
            buf_addc(out, *p);
        }
    }
    /* lvlText may end in spaces or hold only them */
    buf_rtrim(out);
    return 0;
}

static void docx_blocks(struct docx *x, xmlNode *n, int depth);

static void note_ref(struct docx *x, xmlNode *ref, char kind)
{
    const char *id = xml_attr(ref, "id");
    if (!id)
        return;
    char *key = xasprintf("%c:%s", kind, id);
    size_t i;
    for (i = 0; i < x->nnotes; i++)
        if (!strcmp(x->note_ids[i], key))
            break;
    if (i == x->nnotes) {
        x->note_ids = xreallocarray(x->note_ids, x->nnotes + 1, sizeof *x->note_ids);
        x->note_ids[x->nnotes++] = key;
    } else {
        free(key);
    }
    char mark[32];
    snprintf(mark, sizeof mark, "[%zu]", i + 1);
    textdoc_texts(&x->td, mark);
}

static void docx_inline(struct docx *x, xmlNode *n, int depth)
{
    if (depth > 64)
        return;
    for (xmlNode *c = n->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        const char *name = (const char *)c->name;
        if (!strcmp(name, "t")) {
            struct buf t = {0};
            xml_text(c, &t);
            if (t.len)
                textdoc_text(&x->td, t.data, t.len);
            buf_free(&t);
        } else if (!strcmp(name, "tab") || !strcmp(name, "ptab")) {
            textdoc_space(&x->td);
        } else if (!strcmp(name, "br") || !strcmp(name, "cr")) {
            const char *type = xml_attr(c, "type");
            if (type && strcmp(type, "textWrapping"))
                textdoc_space(&x->td);
            else
                textdoc_linebreak(&x->td);
        } else if (!strcmp(name, "noBreakHyphen")) {
            textdoc_texts(&x->td, "-");
        } else if (!strcmp(name, "footnoteReference")) {
            note_ref(x, c, 'f');
        } else if (!strcmp(name, "endnoteReference")) {
            note_ref(x, c, 'e');
        } else if (!strcmp(name, "del") || !strcmp(name, "moveFrom") || !strcmp(name, "rPr") ||
                   !strcmp(name, "pPr") || !strcmp(name, "instrText") || !strcmp(name, "delText")) {
            continue;
        } else if (!strcmp(name, "txbxContent")) {
            docx_blocks(x, c, depth + 1);
        } else if (!strcmp(name, "AlternateContent")) {
            xmlNode *alt = alternate(c);
            if (alt)
                docx_inline(x, alt, depth + 1);
        } else {
            /* r, hyperlink, ins, smartTag, customXml, fldSimple, sdt,
             * sdtContent, drawing, pict, oMath... */
            docx_inline(x, c, depth + 1);
        }
    }
}

static void docx_paragraph(struct docx *x, xmlNode *p, int depth)
{
    xmlNode *ppr = xml_child(p, "pPr");
    int heading = 0, list = 0, ilvl = -1;
    const char *pstyle = xml_attr(xml_child(ppr, "pStyle"), "val"), *num_id = NULL;
    style_props(x, pstyle, &heading, &list, &num_id, &ilvl);
    const char *outline = xml_attr(xml_child(ppr, "outlineLvl"), "val");
    if (outline) {
        int lv = atoi(outline);
        heading = lv >= 0 && lv < 9 ? lv + 1 : 0;
    }
    xmlNode *numpr = xml_child(ppr, "numPr");
    if (numpr) {
        const char *nid = xml_attr(xml_child(numpr, "numId"), "val");
        if (nid)
            num_id = nid;
        const char *il = xml_attr(xml_child(numpr, "ilvl"), "val");
        if (il)
            ilvl = atoi(il);
        list = 1;
    }
    if (num_id && !strcmp(num_id, "0")) /* numId 0 removes numbering */
        list = 0, num_id = NULL;
    /* mark: the number, "-" for a bullet, "" for none (a level without
     * number, or numbering the file does not define: then a plain item) */
    struct buf mark = {0};
    int defined = num_id && number_paragraph(x, num_id, ilvl, pstyle, &mark) == 0;
    int bullet = mark.len && !strcmp(mark.data, "-");
    if (heading > 0)
        textdoc_begin(&x->td, TD_HEADING, heading);
    else if (list && !(defined && !mark.len))
        textdoc_begin(&x->td, TD_ITEM, ilvl < 0 ? 0 : ilvl);
    else
        textdoc_begin(&x->td, TD_PARA, 0);
    if (mark.len && !bullet)
        textdoc_marker(&x->td, mark.data);
    buf_free(&mark);
    docx_inline(x, p, depth + 1);
    textdoc_end(&x->td);
}

static void docx_table(struct docx *x, xmlNode *tbl, int depth)
{
    textdoc_table_begin(&x->td);
    for (xmlNode *tr = tbl->children; tr; tr = tr->next) {
        if (!xml_is(tr, "tr"))
            continue;
        textdoc_row_begin(&x->td);
        for (xmlNode *tc = tr->children; tc; tc = tc->next) {
            xmlNode *cell = tc;
            if (xml_is(tc, "sdt"))
                cell = xml_find(tc, "tc");
            if (!xml_is(cell, "tc"))
                continue;
            textdoc_cell_begin(&x->td);
            docx_blocks(x, cell, depth + 1);
            textdoc_cell_end(&x->td);
            /* a merged cell keeps the columns after it in place */
            textdoc_empty_cells(&x->td, attr_long(xml_child(cell, "tcPr"), "gridSpan", 1) - 1);
        }
        textdoc_row_end(&x->td);
    }
    textdoc_end(&x->td);
}

static void docx_blocks(struct docx *x, xmlNode *n, int depth)
{
    if (depth > 64)
        return;
    for (xmlNode *c = n->children; c; c = c->next) {
        if (xml_is(c, "p"))
            docx_paragraph(x, c, depth);
        else if (xml_is(c, "tbl"))
            docx_table(x, c, depth);
        else if (xml_is(c, "sdt"))
            docx_blocks(x, xml_child(c, "sdtContent") ? xml_child(c, "sdtContent") : c, depth + 1);
        else if (xml_is(c, "customXml") || xml_is(c, "ins") || xml_is(c, "sdtContent"))
            docx_blocks(x, c, depth + 1);
        else if (xml_is(c, "AlternateContent")) {
            xmlNode *alt = alternate(c);
            if (alt)
                docx_blocks(x, alt, depth + 1);
        }
    }
}

/* Appends the notes cited in the body, in order of citation. */
static void docx_notes(struct docx *x)
{
    xmlDoc *foot = NULL, *end = NULL;
    lode_error err;
    for (size_t i = 0; i < x->nnotes; i++) {
        char kind = x->note_ids[i][0];
        const char *id = x->note_ids[i] + 2;
        xmlDoc **doc = kind == 'f' ? &foot : &end;
        if (!*doc)
            *doc =
                container_xml(x->d, kind == 'f' ? "word/footnotes.xml" : "word/endnotes.xml", &err);
        if (!*doc)
            continue;
        for (xmlNode *c = xmlDocGetRootElement(*doc)->children; c; c = c->next) {
            const char *cid = xml_attr(c, "id");
            if ((!xml_is(c, "footnote") && !xml_is(c, "endnote")) || !cid || strcmp(cid, id))
                continue;
            struct docx sub = *x;
            textdoc_init(&sub.td);
            sub.note_ids = NULL;
            sub.nnotes = 0;
            docx_blocks(&sub, c, 0);
            size_t n;
            char *s = textdoc_finish(&sub.td, &n);
            for (size_t k = 0; k < sub.nnotes; k++)
                free(sub.note_ids[k]);
            free(sub.note_ids);
            char *block = xasprintf("[%zu] %s", i + 1, s);
            /* notes are paragraphs of their own: whitespace inside folded */
            for (char *p = block; *p; p++)
                if (*p == '\n')
                    *p = ' ';
            textdoc_append_block(&x->td, block, strlen(block));
            free(block);
            free(s);
            break;
        }
    }
    if (foot)
        xmlFreeDoc(foot);
    if (end)
        xmlFreeDoc(end);
}

int docx_extract(struct extract_doc *d, lode_error *err)
{
    xmlDoc *doc = container_xml(d, "word/document.xml", err);
    if (!doc)
        return -1;
    core_properties(d);
    struct docx x;
    memset(&x, 0, sizeof x);
    x.d = d;
    textdoc_init(&x.td);
    styles_load(&x);
    numbering_load(&x);
    xmlNode *body = xml_find(xmlDocGetRootElement(doc), "body");
    if (body)
        docx_blocks(&x, body, 0);
    docx_notes(&x);
    size_t n;
    char *text = textdoc_finish(&x.td, &n);
    extract_page(d, 1, 1, text, n, NULL, 0);
    free(text);
    for (size_t i = 0; i < x.nstyles; i++) {
        free(x.styles[i].id);
        free(x.styles[i].based_on);
        free(x.styles[i].num_id);
    }
    numbering_free(&x.nb);
    free(x.styles);
    for (size_t i = 0; i < x.nnotes; i++)
        free(x.note_ids[i]);
    free(x.note_ids);
    xmlFreeDoc(doc);
    return 0;
}

/* ---- PPTX ---- */

/* Appends the paragraphs of a DrawingML text body. kind: TD_HEADING for a
 * title, TD_ITEM for body placeholders, TD_PARA otherwise. */
static void dml_text_body(struct textdoc *td, xmlNode *body, enum td_kind kind)
{
    int title_open = 0;
    for (xmlNode *p = body ? body->children : NULL; p; p = p->next) {
        if (!xml_is(p, "p"))
            continue;
        xmlNode *ppr = xml_child(p, "pPr");
        const char *lvl = xml_attr(ppr, "lvl");
        enum td_kind k = kind;
        if (k == TD_ITEM && xml_child(ppr, "buNone"))
            k = TD_PARA;
        if (k == TD_PARA && (xml_child(ppr, "buChar") || xml_child(ppr, "buAutoNum")))
            k = TD_ITEM;
        if (k == TD_HEADING) {
            if (!title_open)
                textdoc_begin(td, TD_HEADING, 1);
            else
                textdoc_space(td);
            title_open = 1;
        } else {
            textdoc_begin(td, k, lvl ? atoi(lvl) : 0);
        }
        for (xmlNode *r = p->children; r; r = r->next) {
            if (xml_is(r, "r") || xml_is(r, "fld")) {
                struct buf t = {0};
                xml_text(xml_child(r, "t"), &t);
                if (t.len)
                    textdoc_text(td, t.data, t.len);
                buf_free(&t);
            } else if (xml_is(r, "br")) {
                textdoc_linebreak(td);
            }
        }
        if (k != TD_HEADING)
            textdoc_end(td);
    }
    textdoc_end(td);
}

static void dml_table(struct textdoc *td, xmlNode *tbl)
{
    textdoc_table_begin(td);
    for (xmlNode *tr = tbl->children; tr; tr = tr->next) {
        if (!xml_is(tr, "tr"))
            continue;
        textdoc_row_begin(td);
        for (xmlNode *tc = tr->children; tc; tc = tc->next) {
            if (!xml_is(tc, "tc"))
                continue;
            textdoc_cell_begin(td);
            dml_text_body(td, xml_child(tc, "txBody"), TD_PARA);
            textdoc_cell_end(td);
        }
        textdoc_row_end(td);
    }
    textdoc_end(td);
}

/* Walks a shape tree. notes: only the notes' body placeholder counts. */
static void pptx_shapes(struct textdoc *td, xmlNode *tree, int notes, int depth)
{
    if (!tree || depth > 32)
        return;
    for (xmlNode *c = tree->children; c; c = c->next) {
        if (xml_is(c, "sp")) {
            xmlNode *ph = xml_find(xml_child(c, "nvSpPr"), "ph");
            const char *type = xml_attr(ph, "type");
            enum td_kind kind = TD_PARA;
            if (notes) {
                if (!ph || (type && strcmp(type, "body")))
                    continue;
            } else if (ph) {
                if (type && (!strcmp(type, "title") || !strcmp(type, "ctrTitle")))
                    kind = TD_HEADING;
                else if (type &&
                         (!strcmp(type, "sldNum") || !strcmp(type, "dt") || !strcmp(type, "ftr") ||
                          !strcmp(type, "hdr")))
                    continue;
                else if (!type || !strcmp(type, "body") || !strcmp(type, "obj"))
                    kind = TD_ITEM;
            }
            dml_text_body(td, xml_child(c, "txBody"), kind);
        } else if (xml_is(c, "grpSp")) {
            pptx_shapes(td, c, notes, depth + 1);
        } else if (xml_is(c, "graphicFrame") && !notes) {
            xmlNode *tbl = xml_find(c, "tbl");
            if (tbl)
                dml_table(td, tbl);
        } else if (xml_is(c, "AlternateContent")) {
            xmlNode *alt = alternate(c);
            if (alt)
                pptx_shapes(td, alt, notes, depth + 1);
        }
    }
}

int pptx_extract(struct extract_doc *d, lode_error *err)
{
    const char *main_part = "ppt/presentation.xml";
    xmlDoc *pres = container_xml(d, main_part, err);
    if (!pres)
        return -1;
    core_properties(d);
    struct rels rels;
    rels_load(d, main_part, &rels);
    xmlNode *list = xml_find(xmlDocGetRootElement(pres), "sldIdLst");
    int pages = 0;
    for (xmlNode *s = list ? list->children : NULL; s; s = s->next)
        pages += xml_is(s, "sldId");
    int page = 0;
    for (xmlNode *s = list ? list->children : NULL; s; s = s->next) {
        if (!xml_is(s, "sldId"))
            continue;
        page++;
        const char *target = rels_target(&rels, rel_id(s));
        lode_error e;
        xmlDoc *slide = target ? container_xml(d, target, &e) : NULL;
        if (!slide) {
            extract_page_error(d, page, "unreadable slide: %s",
                               target ? e.msg : "missing from the presentation's parts");
            continue;
        }
        struct textdoc td;
        textdoc_init(&td);
        xmlNode *root = xmlDocGetRootElement(slide);
        pptx_shapes(&td, xml_find(root, "spTree"), 0, 0);
        json_t *pm = json_object();
        const char *show = xml_attr(root, "show");
        if (show && (!strcmp(show, "0") || !strcmp(show, "false")))
            json_object_set_new(pm, "hidden", json_true());
        struct rels srels;
        rels_load(d, target, &srels);
        const char *notes_part = rels_type(&srels, "/notesSlide");
        xmlDoc *notes = notes_part ? container_xml(d, notes_part, &e) : NULL;
        if (notes) {
            struct textdoc nt;
            textdoc_init(&nt);
            pptx_shapes(&nt, xml_find(xmlDocGetRootElement(notes), "spTree"), 1, 0);
            size_t nn;
            char *ns = textdoc_finish(&nt, &nn);
            if (nn) {
                char *block = xasprintf("Notes: %s", ns);
                textdoc_append_block(&td, block, strlen(block));
                free(block);
            }
            free(ns);
            xmlFreeDoc(notes);
        }
        rels_free(&srels);
        size_t n;
        char *text = textdoc_finish(&td, &n);
        extract_page(d, page, pages, text, n, pm, 0);
        free(text);
        xmlFreeDoc(slide);
    }
    rels_free(&rels);
    xmlFreeDoc(pres);
    if (pages == 0) {
        lode_seterr(err, "the presentation has no slides");
        return -1;
    }
    return 0;
}

/* ---- XLSX ---- */

struct xlsx {
    struct extract_doc *d;
    char **strings;
    size_t nstrings;
    unsigned char *date_style; /* per cellXfs index: 1 date, 2 date-time */
    size_t nstyles;
    int date1904;
};

static void shared_strings(struct xlsx *x)
{
    lode_error err;
    xmlDoc *doc = container_xml(x->d, "xl/sharedStrings.xml", &err);
    if (!doc)
        return;
    for (xmlNode *si = xmlDocGetRootElement(doc)->children; si; si = si->next) {
        if (!xml_is(si, "si"))
            continue;
        struct buf t = {0};
        /* t directly, or r/t runs; rPh (phonetic hints) is left out */
        for (xmlNode *c = si->children; c; c = c->next) {
            if (xml_is(c, "t"))
                xml_text(c, &t);
            else if (xml_is(c, "r"))
                xml_text(xml_child(c, "t"), &t);
        }
        x->strings = xreallocarray(x->strings, x->nstrings + 1, sizeof *x->strings);
        x->strings[x->nstrings++] = buf_release(&t);
    }
    xmlFreeDoc(doc);
}

/* A number format that shows a date: builtin ids 14-22, 45-47, or a code
 * with d, m or y outside quotes and brackets. 2 when it also shows time. */
static int date_format(int id, const char *code)
{
    if (id >= 14 && id <= 17)
        return 1;
    if (id >= 18 && id <= 22)
        return 2;
    if (id >= 45 && id <= 47)
        return 2;
    if (!code)
        return 0;
    int date = 0, time = 0, quoted = 0, bracket = 0;
    for (const char *p = code; *p; p++) {
        if (*p == '"')
            quoted = !quoted;
        else if (quoted)
            continue;
        else if (*p == '\\' && p[1])
            p++;
        else if (*p == '[')
            bracket = 1;
        else if (*p == ']')
            bracket = 0;
        else if (!bracket && (*p == 'd' || *p == 'D' || *p == 'y' || *p == 'Y'))
            date = 1;
        else if (!bracket && (*p == 'h' || *p == 'H' || *p == 's' || *p == 'S'))
            time = 1;
    }
    return date ? (time ? 2 : 1) : 0;
}

static void cell_styles(struct xlsx *x)
{
    lode_error err;
    xmlDoc *doc = container_xml(x->d, "xl/styles.xml", &err);
    if (!doc)
        return;
    xmlNode *root = xmlDocGetRootElement(doc);
    xmlNode *fmts = xml_child(root, "numFmts");
    xmlNode *xfs = xml_child(root, "cellXfs");
    for (xmlNode *xf = xfs ? xfs->children : NULL; xf; xf = xf->next) {
        if (!xml_is(xf, "xf"))
            continue;
        const char *ids = xml_attr(xf, "numFmtId");
        int id = ids ? atoi(ids) : 0;
        const char *code = NULL;
        for (xmlNode *f = fmts ? fmts->children : NULL; f; f = f->next)
            if (xml_is(f, "numFmt") && xml_attr(f, "numFmtId") &&
                atoi(xml_attr(f, "numFmtId")) == id)
                code = xml_attr(f, "formatCode");
        x->date_style = xrealloc(x->date_style, x->nstyles + 1);
        x->date_style[x->nstyles++] = (unsigned char)date_format(id, code);
    }
    xmlFreeDoc(doc);
}

/* Days since 1970-01-01 to a civil date (H. Hinnant's algorithm). */
static void civil(long z, int *y, int *m, int *d)
{
    z += 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    long doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

static void format_date(struct buf *out, double serial, int with_time, int date1904)
{
    if (!isfinite(serial) || serial < 0 || serial > 2958466) {
        buf_addf(out, "%g", serial);
        return;
    }
    long days = (long)floor(serial);
    double frac = serial - (double)days;
    /* 1900 system: serial 1 is 1900-01-01, and Excel counts a 29 Feb 1900
     * that never was, so serials from 61 on are one day ahead. */
    long epoch;
    if (date1904)
        epoch = -24107; /* 1904-01-01 */
    else
        epoch = days >= 61 ? -25569 : -25568;
    int y, m, d;
    civil(days + epoch, &y, &m, &d);
    buf_addf(out, "%04d-%02d-%02d", y, m, d);
    if (with_time) {
        long secs = lround(frac * 86400.0);
        if (secs >= 86400)
            secs = 86399;
        buf_addf(out, " %02ld:%02ld:%02ld", secs / 3600, secs / 60 % 60, secs % 60);
    }
}

/* Column index from a reference such as "AB12" (A = 0); -1 when absent. */
static long column_of(const char *ref)
{
    if (!ref)
        return -1;
    long col = 0;
    int letters = 0;
    for (; *ref >= 'A' && *ref <= 'Z' && letters < 4; ref++, letters++)
        col = col * 26 + (*ref - 'A' + 1);
    return letters ? col - 1 : -1;
}

#define XLSX_MAX_COLUMNS 16384

static void xlsx_cell(struct xlsx *x, xmlNode *c, struct buf *out)
{
    const char *t = xml_attr(c, "t");
    xmlNode *v = xml_child(c, "v");
    struct buf raw = {0};
    if (t && !strcmp(t, "inlineStr")) {
        xmlNode *is = xml_child(c, "is");
        for (xmlNode *k = is ? is->children : NULL; k; k = k->next) {
            if (xml_is(k, "t"))
                xml_text(k, out);
            else if (xml_is(k, "r"))
                xml_text(xml_child(k, "t"), out);
        }
        return;
    }
    xml_text(v, &raw);
    if (!raw.len) {
        buf_free(&raw);
        return;
    }
    if (t && !strcmp(t, "s")) {
        long i = strtol(raw.data, NULL, 10);
        if (i >= 0 && (size_t)i < x->nstrings)
            buf_adds(out, x->strings[i]);
    } else if (t && !strcmp(t, "b")) {
        buf_adds(out, strcmp(raw.data, "0") ? "TRUE" : "FALSE");
    } else if (!t || !strcmp(t, "n")) {
        const char *s = xml_attr(c, "s");
        long si = s ? strtol(s, NULL, 10) : 0;
        int kind = si >= 0 && (size_t)si < x->nstyles ? x->date_style[si] : 0;
        char *end;
        double val = strtod(raw.data, &end);
        if (kind && *end == 0)
            format_date(out, val, kind == 2 || val != floor(val), x->date1904);
        else
            buf_add(out, raw.data, raw.len);
    } else {
        buf_add(out, raw.data, raw.len); /* str, e, d */
    }
    buf_free(&raw);
}

static void xlsx_sheet(struct xlsx *x, xmlNode *root, struct textdoc *td)
{
    xmlNode *data = xml_child(root, "sheetData");
    struct buf cell = {0};
    textdoc_table_begin(td);
    for (xmlNode *row = data ? data->children : NULL; row; row = row->next) {
        if (!xml_is(row, "row"))
            continue;
        textdoc_row_begin(td);
        long next_col = 0;
        for (xmlNode *c = row->children; c; c = c->next) {
            if (!xml_is(c, "c"))
                continue;
            long col = column_of(xml_attr(c, "r"));
            if (col < next_col || col >= XLSX_MAX_COLUMNS)
                col = next_col;
            buf_reset(&cell);
            xlsx_cell(x, c, &cell);
            if (!cell.len)
                continue;
            for (; next_col < col; next_col++) { /* empty cells before */
                textdoc_cell_begin(td);
                textdoc_cell_end(td);
            }
            textdoc_cell_begin(td);
            textdoc_text(td, cell.data, cell.len);
            textdoc_cell_end(td);
            next_col = col + 1;
        }
        textdoc_row_end(td);
    }
    buf_free(&cell);
    textdoc_end(td);
}

int xlsx_extract(struct extract_doc *d, lode_error *err)
{
    const char *main_part = "xl/workbook.xml";
    xmlDoc *book = container_xml(d, main_part, err);
    if (!book)
        return -1;
    core_properties(d);
    struct xlsx x;
    memset(&x, 0, sizeof x);
    x.d = d;
    xmlNode *root = xmlDocGetRootElement(book);
    const char *d1904 = xml_attr(xml_child(root, "workbookPr"), "date1904");
    x.date1904 = d1904 && (!strcmp(d1904, "1") || !strcmp(d1904, "true"));
    shared_strings(&x);
    cell_styles(&x);
    struct rels rels;
    rels_load(d, main_part, &rels);
    xmlNode *sheets = xml_child(root, "sheets");
    int pages = 0, page = 0;
    for (xmlNode *s = sheets ? sheets->children : NULL; s; s = s->next)
        pages += xml_is(s, "sheet");
    for (xmlNode *s = sheets ? sheets->children : NULL; s; s = s->next) {
        if (!xml_is(s, "sheet"))
            continue;
        page++;
        const char *target = rels_target(&rels, rel_id(s));
        lode_error e;
        xmlDoc *sheet = target ? container_xml(d, target, &e) : NULL;
        if (!sheet) {
            /* chart sheets have no cells; other failures are errors */
            if (target && strstr(target, "chartsheets/"))
                continue;
            extract_page_error(d, page, "unreadable sheet: %s", target ? e.msg : "missing part");
            continue;
        }
        struct textdoc td;
        textdoc_init(&td);
        xlsx_sheet(&x, xmlDocGetRootElement(sheet), &td);
        size_t n;
        char *text = textdoc_finish(&td, &n);
        json_t *pm = json_object();
        extract_meta_str(pm, "sheet", xml_attr(s, "name"));
        const char *state = xml_attr(s, "state");
        if (state && strcmp(state, "visible"))
            json_object_set_new(pm, "hidden", json_true());
        extract_page(d, page, pages, text, n, pm, 0);
        free(text);
        xmlFreeDoc(sheet);
    }
    rels_free(&rels);
    for (size_t i = 0; i < x.nstrings; i++)
        free(x.strings[i]);
    free(x.strings);
    free(x.date_style);
    xmlFreeDoc(book);
    if (pages == 0) {
        lode_seterr(err, "the workbook has no sheets");
        return -1;
    }
    return 0;
}
