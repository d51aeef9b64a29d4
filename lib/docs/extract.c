/* extract.c - extract.h's entry point: the reader chosen by sniffing the
 * content, the page records every reader emits (meta, ids, cleaned text),
 * and the per-page errors of a document that fails only in part. */
#include "docs/extract.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "docs/charset.h"
#include "base/record.h"
#include "docs/sniff.h"

void extract_meta_str(json_t *meta, const char *key, const char *s)
{
    if (!s)
        return;
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
        n--;
    if (n)
        record_set_text(meta, key, s, n);
}

/* meta of one record: the document's, the page's, the input record's, and
 * --tag, later ones winning. */
static json_t *record_meta(struct extract_doc *d, json_t *page_meta)
{
    json_t *m = json_object();
    json_object_update(m, d->meta);
    json_object_set_new(m, "bytes", json_integer((json_int_t)d->data->len));
    if (page_meta)
        json_object_update(m, page_meta);
    json_t *base_meta = d->sink->base ? json_object_get(d->sink->base, "meta") : NULL;
    if (json_is_object(base_meta))
        json_object_update(m, base_meta);
    if (d->opts->tags)
        json_object_update(m, d->opts->tags);
    return m;
}

static void add_base(json_t *rec, const json_t *base)
{
    const char *k;
    json_t *v;
    if (!base)
        return;
    json_object_foreach((json_t *)base, k, v)
    {
        if (!json_object_get(rec, k) && strcmp(k, "path"))
            json_object_set(rec, k, v);
    }
}

void extract_page(struct extract_doc *d, int page, int pages, const char *text, size_t len,
                  json_t *page_meta, int ocr_needed)
{
    json_t *rec = json_object();
    char id[HASH_HEX_LEN + 24];
    snprintf(id, sizeof id, "%s-%d", d->key, page);
    record_set_str(rec, "id", id);
    record_set_str(rec, "doc", d->doc);
    record_set_name(rec, "source", d->source);
    record_set_str(rec, "type", d->type);
    record_set_int(rec, "page", page);
    record_set_int(rec, "pages", pages);
    struct buf clean = {0};
    charset_clean_text(&clean, text ? text : "", text ? len : 0);
    record_set_text(rec, "text", clean.data ? clean.data : "", clean.len);
    buf_free(&clean);
    json_object_set_new(rec, "meta", record_meta(d, page_meta));
    if (page_meta)
        json_decref(page_meta);
    if (ocr_needed)
        record_set_str(rec, "ocr", "needed");
    add_base(rec, d->sink->base);
    d->sink->record(d->sink, page, rec);
}

static json_t *error_record(struct extract_doc *d, int page, const char *msg)
{
    json_t *err = json_object();
    record_set_str(err, "stage", "extract");
    record_set_name(err, "source", d->source);
    if (d->key[0]) {
        char id[HASH_HEX_LEN + 24];
        if (page > 0)
            snprintf(id, sizeof id, "%s-%d", d->key, page);
        else
            snprintf(id, sizeof id, "%s", d->key);
        record_set_str(err, "id", id);
    }
    if (d->doc[0])
        record_set_str(err, "doc", d->doc);
    if (page > 0)
        record_set_int(err, "page", page);
    record_set_str(err, "error", msg);
    return err;
}

void extract_page_error(struct extract_doc *d, int page, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    d->failed = 1;
    d->sink->error(d->sink, page, error_record(d, page, msg));
}

static void run(const struct extract_opts *opts, struct extract_sink *sink, const char *source,
                const struct blob *data, const char *doc_hash, int first, int last, int depth,
                struct unpack_budget *budget);

struct member_walk {
    const struct extract_opts *opts;
    struct extract_sink *sink;
    struct extract_doc *archive;
    int depth;
    struct unpack_budget *budget;
    int members;
};

static int hidden_member(const char *name)
{
    if (!strncmp(name, "__MACOSX/", 9))
        return 1;
    for (const char *p = name; *p; p++)
        if (*p == '.' && (p == name || p[-1] == '/'))
            return 1;
    return 0;
}

static int on_member(void *ud, const char *member, struct blob *data, const char *why)
{
    struct member_walk *mw = ud;
    if (!mw->opts->hidden && hidden_member(member)) {
        if (data)
            blob_free(data);
        return 0;
    }
    mw->members++;
    char *source = xasprintf("%s!/%s", mw->archive->source, member);
    if (!data) {
        json_t *err = json_object();
        record_set_str(err, "stage", "extract");
        record_set_name(err, "source", source);
        record_set_str(err, "error", why ? why : "unreadable member");
        mw->sink->error(mw->sink, 0, err);
        mw->sink->done(mw->sink, source, 0);
    } else {
        run(mw->opts, mw->sink, source, data, NULL, 0, 0, mw->depth + 1, mw->budget);
        blob_free(data);
    }
    free(source);
    return 0;
}

static int archive_extract(struct extract_doc *d, lode_error *err)
{
    if (d->depth >= d->opts->limits.max_depth) {
        lode_seterr(err, "archives nested deeper than %d levels (--max-depth)",
                    d->opts->limits.max_depth);
        return -1;
    }
    struct member_walk mw = {d->opts, d->sink, d, d->depth, d->budget, 0};
    int rc = unpack_each(d->data, d->source, &d->opts->limits, d->budget, on_member, &mw, err);
    if (rc == 0 && mw.members == 0) {
        lode_seterr(err, "archive holds no documents");
        return -1;
    }
    return rc;
}

static int (*reader_for(const char *type))(struct extract_doc *, lode_error *)
{
    static const struct {
        const char *type;
        int (*fn)(struct extract_doc *, lode_error *);
    } readers[] = {
        {"pdf", pdf_extract},      {"docx", docx_extract},       {"pptx", pptx_extract},
        {"xlsx", xlsx_extract},    {"odt", odf_extract},         {"odp", odf_extract},
        {"ods", odf_extract},      {"epub", epub_extract},       {"html", html_extract},
        {"md", plaintext_extract}, {"txt", plaintext_extract},   {"csv", csv_extract},
        {"image", image_extract},  {"archive", archive_extract},
    };
    for (size_t i = 0; i < sizeof readers / sizeof *readers; i++)
        if (!strcmp(readers[i].type, type))
            return readers[i].fn;
    return NULL;
}

static void run(const struct extract_opts *opts, struct extract_sink *sink, const char *source,
                const struct blob *data, const char *doc_hash, int first, int last, int depth,
                struct unpack_budget *budget)
{
    struct extract_doc d;
    memset(&d, 0, sizeof d);
    d.opts = opts;
    d.sink = sink;
    d.source = source;
    d.data = data;
    d.first = first;
    d.last = last;
    d.depth = depth;
    d.budget = budget;
    if (doc_hash)
        snprintf(d.doc, sizeof d.doc, "%s", doc_hash);
    else
        hash_bytes(data->data, data->len, d.doc);
    hash_strings(d.key, d.doc, source, NULL);
    lode_error err = {0};
    d.type = sniff_type(data, source, &err);
    if (!d.type) {
        d.sink->error(d.sink, 0, error_record(&d, 0, err.msg));
        d.sink->done(d.sink, source, 0);
        return;
    }
    d.meta = json_object();
    int is_archive = !strcmp(d.type, "archive");
    int rc = reader_for(d.type)(&d, &err);
    if (rc < 0) {
        d.failed = 1;
        d.sink->error(d.sink, 0, error_record(&d, 0, err.msg[0] ? err.msg : "unreadable"));
    }
    json_decref(d.meta);
    if (!is_archive || rc < 0)
        d.sink->done(d.sink, source, !d.failed);
}

void extract_document(const struct extract_opts *opts, struct extract_sink *sink,
                      const char *source, const struct blob *data, const char *doc_hash, int first,
                      int last)
{
    struct unpack_budget budget = {0, 0};
    run(opts, sink, source, data, doc_hash, first, last, 0, &budget);
}
