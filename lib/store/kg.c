/* kg.c - kg.h's tables: counted updates from a chunk's entities and
 * relations, the dump in three formats, an entity's answer, and the graph's
 * ranked list of chunks for a query. */
#include "store/kg.h"

#include <errno.h>
#include <glib.h>
#include <libxml/xmlwriter.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/codec.h"
#include "base/record.h"
#include "base/util.h"
#include "text/entities.h"

#define KG_MAX_NORM 200
#define KG_MAX_REL 32

/* ---- counted values ----
 * The tables are written through an io: the store's transaction, or (for
 * --check's rebuild from the chunks) tables in memory with the same keys
 * and values. */

enum { T_ENTITIES, T_MENTIONS, T_EDGES, T_ALIASES, T_N };

struct kg_io {
    struct store *s;
    GHashTable *mem[T_N]; /* GBytes key -> GBytes value; NULL: the store */
};

static MDB_dbi table(const struct kg_io *io, int t)
{
    const MDB_dbi dbi[T_N] = {io->s->kg_entities, io->s->kg_mentions, io->s->kg_edges,
                              io->s->kg_aliases};
    return dbi[t];
}

static int io_get(struct kg_io *io, int t, const void *k, size_t kn, MDB_val *v)
{
    if (!io->mem[t])
        return store_get(io->s, table(io, t), k, kn, v);
    GBytes *key = g_bytes_new_static(k, kn);
    GBytes *val = g_hash_table_lookup(io->mem[t], key);
    g_bytes_unref(key);
    if (!val)
        return LODE_ENOTFOUND;
    gsize n;
    v->mv_data = (void *)g_bytes_get_data(val, &n);
    v->mv_size = n;
    return 0;
}

static int io_put(struct kg_io *io, int t, const void *k, size_t kn, const void *v, size_t vn)
{
    if (!io->mem[t])
        return store_put(io->s, table(io, t), k, kn, v, vn);
    g_hash_table_replace(io->mem[t], g_bytes_new(k, kn), g_bytes_new(v, vn));
    return 0;
}

static int io_del(struct kg_io *io, int t, const void *k, size_t kn)
{
    if (!io->mem[t])
        return store_del(io->s, table(io, t), k, kn);
    GBytes *key = g_bytes_new_static(k, kn);
    g_hash_table_remove(io->mem[t], key);
    g_bytes_unref(key);
    return 0;
}

/* JSON object value of key (a new reference), or an empty object. */
static json_t *io_json(struct kg_io *io, int t, const char *key, size_t kn)
{
    MDB_val v;
    json_t *o = NULL;
    if (io_get(io, t, key, kn, &v) == 0) {
        lode_error err;
        o = record_parse(v.mv_data, v.mv_size, &err);
    }
    return o ? o : json_object();
}

/* io_json() on the store's own table t */
static json_t *get_json(struct store *s, int t, const char *key, size_t kn)
{
    struct kg_io io = {s, {NULL}};
    return io_json(&io, t, key, kn);
}

static int put_json(struct kg_io *io, int t, const char *key, size_t kn, const json_t *o)
{
    struct buf b = {0};
    record_dump(&b, o);
    int rc = io_put(io, t, key, kn, b.data, b.len - 1);
    buf_free(&b);
    return rc;
}

/* o[name] += delta, the key dropped at 0 */
static void bump(json_t *o, const char *name, int delta)
{
    long long n = record_int(o, name, 0) + delta;
    if (n > 0)
        record_set_int(o, name, n);
    else
        json_object_del(o, name);
}

static int bump_count(struct kg_io *io, int t, const void *key, size_t kn, int delta)
{
    MDB_val v;
    long long n = 0;
    if (io_get(io, t, key, kn, &v) == 0 && v.mv_size == 4)
        n = get_le32(v.mv_data);
    n += delta;
    if (n <= 0)
        return io_del(io, t, key, kn);
    unsigned char b[4];
    put_le32(b, (uint32_t)n);
    return io_put(io, t, key, kn, b, 4);
}

/* ---- a chunk in or out ---- */

struct chunk_ent {
    GHashTable *names, *types, *aliases; /* sets */
};

static void chunk_ent_free(gpointer p)
{
    struct chunk_ent *c = p;
    g_hash_table_destroy(c->names);
    g_hash_table_destroy(c->types);
    g_hash_table_destroy(c->aliases);
    free(c);
}

static int usable(const char *s, size_t max)
{
    return s && *s && strlen(s) <= max;
}

static int apply(struct kg_io *io, uint32_t num, const json_t *rec, int delta);

int kg_apply(struct store *s, uint32_t num, const json_t *rec, int delta)
{
    if (!s->has_kg)
        return 0;
    struct kg_io io = {s, {NULL}};
    return apply(&io, num, rec, delta);
}

static int apply(struct kg_io *io, uint32_t num, const json_t *rec, int delta)
{
    json_t *ents = json_object_get(rec, "entities"), *rels = json_object_get(rec, "relations");
    if (!json_is_array(ents) && !json_is_array(rels))
        return 0;
    GHashTable *by = g_hash_table_new_full(g_str_hash, g_str_equal, free, chunk_ent_free);
    size_t i;
    json_t *x;
    json_array_foreach(ents, i, x)
    {
        const char *norm = record_str(x, "norm"), *name = record_str(x, "name"),
                   *type = record_str(x, "type");
        if (!usable(norm, KG_MAX_NORM) || !usable(name, KG_MAX_NORM) || !usable(type, KG_MAX_REL))
            continue;
        struct chunk_ent *c = g_hash_table_lookup(by, norm);
        if (!c) {
            c = xcalloc(1, sizeof *c);
            c->names = g_hash_table_new_full(g_str_hash, g_str_equal, free, NULL);
            c->types = g_hash_table_new_full(g_str_hash, g_str_equal, free, NULL);
            c->aliases = g_hash_table_new_full(g_str_hash, g_str_equal, free, NULL);
            g_hash_table_insert(by, xstrdup(norm), c);
        }
        g_hash_table_add(c->names, xstrdup(name));
        g_hash_table_add(c->types, xstrdup(type));
        char *f = entities_fold(name, strlen(name));
        if (!strcmp(type, "acronym") && strcmp(f, norm))
            g_hash_table_add(c->aliases, f);
        else
            free(f);
    }
    int rc = 0;
    unsigned char nb[4];
    put_be32(nb, num);
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, by);
    while (!rc && g_hash_table_iter_next(&it, &k, &v)) {
        const char *norm = k;
        struct chunk_ent *c = v;
        size_t nl = strlen(norm);
        json_t *o = io_json(io, T_ENTITIES, norm, nl);
        bump(o, "chunks", delta);
        const char *maps[2] = {"names", "types"};
        GHashTable *sets[2] = {c->names, c->types};
        for (int m = 0; m < 2; m++) {
            json_t *sub = json_object_get(o, maps[m]);
            if (!json_is_object(sub)) {
                sub = json_object();
                json_object_set_new(o, maps[m], sub);
            }
            GHashTableIter j;
            gpointer name;
            g_hash_table_iter_init(&j, sets[m]);
            while (g_hash_table_iter_next(&j, &name, NULL))
                bump(sub, name, delta);
        }
        rc = record_int(o, "chunks", 0) > 0 ? put_json(io, T_ENTITIES, norm, nl, o)
                                            : io_del(io, T_ENTITIES, norm, nl);
        json_decref(o);
        /* the entity's chunks */
        char *mk = xmalloc(nl + 5);
        memcpy(mk, norm, nl + 1);
        memcpy(mk + nl + 1, nb, 4);
        if (!rc)
            rc = delta > 0 ? io_put(io, T_MENTIONS, mk, nl + 5, "", 0)
                           : io_del(io, T_MENTIONS, mk, nl + 5);
        free(mk);
        GHashTableIter j;
        gpointer al;
        g_hash_table_iter_init(&j, c->aliases);
        while (!rc && g_hash_table_iter_next(&j, &al, NULL)) {
            json_t *a = io_json(io, T_ALIASES, al, strlen(al));
            bump(a, norm, delta);
            rc = json_object_size(a) ? put_json(io, T_ALIASES, al, strlen(al), a)
                                     : io_del(io, T_ALIASES, al, strlen(al));
            json_decref(a);
        }
    }
    g_hash_table_destroy(by);
    /* relations: once per chunk each, under both ends */
    GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, free, NULL);
    json_array_foreach(rels, i, x)
    {
        const char *h = record_str(x, "head"), *t = record_str(x, "tail"),
                   *r = record_str(x, "rel");
        if (rc || !usable(h, KG_MAX_NORM) || !usable(t, KG_MAX_NORM) || !usable(r, KG_MAX_REL) ||
            !strcmp(h, t))
            continue;
        size_t hl = strlen(h), tl = strlen(t), rl = strlen(r), kn = hl + tl + rl + 4;
        char *key = xmalloc(kn);
        memcpy(key, h, hl + 1);
        memcpy(key + hl + 1, t, tl + 1);
        memcpy(key + hl + tl + 2, r, rl + 1);
        key[kn - 1] = '>';
        char *again = xmalloc(kn);
        memcpy(again, t, tl + 1);
        memcpy(again + tl + 1, h, hl + 1);
        memcpy(again + hl + tl + 2, r, rl + 1);
        again[kn - 1] = '<';
        char *id = xasprintf("%s\x1f%s\x1f%s", h, t, r);
        if (g_hash_table_add(seen, id)) {
            rc = bump_count(io, T_EDGES, key, kn, delta);
            if (!rc)
                rc = bump_count(io, T_EDGES, again, kn, delta);
        }
        free(key);
        free(again);
    }
    g_hash_table_destroy(seen);
    return rc;
}

/* ---- reading ---- */

/* The most frequent key of a {name: count} object, or def; ties go to the
 * longer key (an expansion before its acronym; "acronym" loses to any other
 * type), then the first in byte order. */
static int better(const char *a, const char *b)
{
    int aa = !strcmp(a, "acronym"), ab = !strcmp(b, "acronym");
    if (aa != ab)
        return ab;
    size_t la = strlen(a), lb = strlen(b);
    return la != lb ? la > lb : strcmp(a, b) < 0;
}

static const char *most(const json_t *o, const char *def)
{
    const char *best = def, *key;
    long long bn = 0;
    json_t *v;
    json_object_foreach((json_t *)o, key, v)
    {
        long long n = json_integer_value(v);
        if (n > bn || (n == bn && best != def && better(key, best)))
            best = key, bn = n;
    }
    return best;
}

/* alias -> the norm it stands for most often (a new table) */
static GHashTable *alias_map(struct store *s)
{
    GHashTable *m = g_hash_table_new_full(g_str_hash, g_str_equal, free, free);
    MDB_cursor *c;
    MDB_val k, v;
    if (mdb_cursor_open(s->txn, s->kg_aliases, &c) == 0) {
        for (int op = MDB_FIRST; mdb_cursor_get(c, &k, &v, (MDB_cursor_op)op) == 0; op = MDB_NEXT) {
            lode_error err;
            json_t *o = record_parse(v.mv_data, v.mv_size, &err);
            const char *to = o ? most(o, NULL) : NULL;
            if (to)
                g_hash_table_replace(m, xstrndup(k.mv_data, k.mv_size), xstrdup(to));
            json_decref(o);
        }
        mdb_cursor_close(c);
    }
    return m;
}

struct node {
    char *id, *name, *type;
    long long chunks;
    GPtrArray *aliases;
};

static void node_free(gpointer p)
{
    struct node *n = p;
    free(n->id);
    free(n->name);
    free(n->type);
    g_ptr_array_free(n->aliases, TRUE);
    free(n);
}

static gint by_id(gconstpointer a, gconstpointer b)
{
    return strcmp((*(struct node *const *)a)->id, (*(struct node *const *)b)->id);
}

struct edge {
    char *head, *tail, *rel;
    uint32_t count;
};

static void edge_free(gpointer p)
{
    struct edge *e = p;
    free(e->head);
    free(e->tail);
    free(e->rel);
    free(e);
}

static struct node *new_node(GHashTable *nodes, const char *id, const char *name, const char *type,
                             long long chunks)
{
    struct node *n = xcalloc(1, sizeof *n);
    n->id = xstrdup(id);
    n->name = xstrdup(name);
    n->type = xstrdup(type);
    n->chunks = chunks;
    n->aliases = g_ptr_array_new_with_free_func(free);
    g_hash_table_insert(nodes, n->id, n);
    return n;
}

/* Splits an edge key a\0b\0rel\0d. */
static int edge_key(const MDB_val *k, const char **a, const char **b, const char **rel, char *dir)
{
    const char *p = k->mv_data, *end = p + k->mv_size;
    if (k->mv_size < 7 || end[-2] != 0)
        return -1;
    *a = p;
    const char *z = memchr(p, 0, (size_t)(end - p));
    if (!z || z + 1 >= end)
        return -1;
    *b = z + 1;
    z = memchr(*b, 0, (size_t)(end - *b));
    if (!z || z + 1 >= end - 2)
        return -1;
    *rel = z + 1;
    *dir = end[-1];
    return 0;
}

static size_t mentions(struct store *s, const char *norm, uint32_t **out);

static const char *canon(GHashTable *alias, const char *id)
{
    const char *to = g_hash_table_lookup(alias, id);
    return to ? to : id;
}

/* {key: n} += {key: n} */
static void add_counts(json_t *into, const json_t *from)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)from, key, v)
        record_set_int(into, key, record_int(into, key, 0) + json_integer_value(v));
}

static gint by_edge(gconstpointer a, gconstpointer b)
{
    const struct edge *x = *(struct edge *const *)a, *y = *(struct edge *const *)b;
    int c = strcmp(x->head, y->head);
    if (!c)
        c = strcmp(x->tail, y->tail);
    return c ? c : strcmp(x->rel, y->rel);
}

/* Every node and edge, an acronym's entity merged into the one it stands
 * for (at reading, so that the graph does not depend on which document came
 * first): nodes sorted by id, edges by head, tail and relation. */
static void read_graph(struct store *s, GPtrArray *nodes, GPtrArray *edges)
{
    GHashTable *alias = alias_map(s);
    GHashTable *byid = g_hash_table_new(g_str_hash, g_str_equal);
    GHashTable *names =
        g_hash_table_new_full(g_str_hash, g_str_equal, free, (GDestroyNotify)json_decref);
    GHashTable *types =
        g_hash_table_new_full(g_str_hash, g_str_equal, free, (GDestroyNotify)json_decref);
    GHashTable *chunks =
        g_hash_table_new_full(g_str_hash, g_str_equal, free, (GDestroyNotify)g_hash_table_destroy);
    MDB_cursor *c;
    MDB_val k, v;
    if (mdb_cursor_open(s->txn, s->kg_entities, &c) == 0) {
        for (int op = MDB_FIRST; mdb_cursor_get(c, &k, &v, (MDB_cursor_op)op) == 0; op = MDB_NEXT) {
            lode_error err;
            json_t *o = record_parse(v.mv_data, v.mv_size, &err);
            char *id = xstrndup(k.mv_data, k.mv_size);
            const char *to = canon(alias, id);
            if (o) {
                if (!g_hash_table_contains(names, to)) {
                    g_hash_table_insert(names, xstrdup(to), json_object());
                    g_hash_table_insert(types, xstrdup(to), json_object());
                    g_hash_table_insert(chunks, xstrdup(to),
                                        g_hash_table_new(g_direct_hash, g_direct_equal));
                }
                add_counts(g_hash_table_lookup(names, to), json_object_get(o, "names"));
                add_counts(g_hash_table_lookup(types, to), json_object_get(o, "types"));
                uint32_t *m;
                size_t nm = mentions(s, id, &m);
                GHashTable *set = g_hash_table_lookup(chunks, to);
                for (size_t x = 0; x < nm; x++)
                    g_hash_table_add(set, GUINT_TO_POINTER(m[x] + 1));
                free(m);
            }
            free(id);
            json_decref(o);
        }
        mdb_cursor_close(c);
    }
    GHashTableIter it;
    gpointer key, val;
    g_hash_table_iter_init(&it, names);
    while (g_hash_table_iter_next(&it, &key, &val)) {
        struct node *n =
            new_node(byid, key, most(val, key), most(g_hash_table_lookup(types, key), "name"),
                     g_hash_table_size(g_hash_table_lookup(chunks, key)));
        g_ptr_array_add(nodes, n);
    }
    g_hash_table_iter_init(&it, alias);
    while (g_hash_table_iter_next(&it, &key, &val)) {
        struct node *to = g_hash_table_lookup(byid, val);
        if (to)
            g_ptr_array_add(to->aliases, xstrdup(key));
    }
    for (guint i = 0; i < nodes->len; i++)
        g_ptr_array_sort(((struct node *)g_ptr_array_index(nodes, i))->aliases,
                         (GCompareFunc)g_strcmp0);
    GHashTable *sum = g_hash_table_new(g_str_hash, g_str_equal); /* "h\x1ft\x1frel" -> edge */
    if (mdb_cursor_open(s->txn, s->kg_edges, &c) == 0) {
        for (int op = MDB_FIRST; mdb_cursor_get(c, &k, &v, (MDB_cursor_op)op) == 0; op = MDB_NEXT) {
            const char *a, *b, *rel;
            char dir;
            if (edge_key(&k, &a, &b, &rel, &dir) < 0 || dir != '>' || v.mv_size != 4)
                continue;
            const char *h = canon(alias, a), *t = canon(alias, b);
            if (!strcmp(h, t))
                continue;
            if (!strcmp(rel, "co") && strcmp(h, t) > 0) { /* co stays in norm order */
                const char *x = h;
                h = t, t = x;
            }
            char *id = xasprintf("%s\x1f%s\x1f%s", h, t, rel);
            struct edge *e = g_hash_table_lookup(sum, id);
            if (!e) {
                e = xcalloc(1, sizeof *e);
                e->head = xstrdup(h), e->tail = xstrdup(t), e->rel = xstrdup(rel);
                g_hash_table_insert(sum, id, e);
                g_ptr_array_add(edges, e);
            } else {
                free(id);
            }
            e->count += get_le32(v.mv_data);
            /* a phrase that is no entity: a concept */
            const char *ends[2] = {h, t};
            for (int j = 0; j < 2; j++)
                if (!g_hash_table_contains(byid, ends[j]))
                    g_ptr_array_add(nodes, new_node(byid, ends[j], ends[j], "concept", 0));
        }
        mdb_cursor_close(c);
    }
    g_hash_table_iter_init(&it, sum);
    while (g_hash_table_iter_next(&it, &key, NULL))
        free(key);
    g_hash_table_destroy(sum);
    g_ptr_array_sort(nodes, by_id);
    g_ptr_array_sort(edges, by_edge);
    g_hash_table_destroy(byid);
    g_hash_table_destroy(names);
    g_hash_table_destroy(types);
    g_hash_table_destroy(chunks);
    g_hash_table_destroy(alias);
}

static void csv_field(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static char *label(const char *type)
{
    char *l = xstrdup(type);
    l[0] = g_ascii_toupper(l[0]);
    return l;
}

static char *rel_type(const char *rel)
{
    char *r = xstrdup(rel);
    for (char *p = r; *p; p++)
        *p = g_ascii_isalnum(*p) ? g_ascii_toupper(*p) : '_';
    return r;
}

static int dump_neo4j(const char *dir, GPtrArray *nodes, GPtrArray *edges, lode_error *err)
{
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return lode_fail(err, lode_errno_code(errno), "%s: %s", dir, strerror(errno));
    char *np = xasprintf("%s/nodes.csv", dir), *rp = xasprintf("%s/relationships.csv", dir);
    FILE *n = fopen(np, "w"), *r = fopen(rp, "w");
    int rc = 0;
    if (!n || !r) {
        rc = lode_fail(err, lode_errno_code(errno), "%s: %s", n ? rp : np, strerror(errno));
    } else {
        fputs("id:ID,name,type,chunks:int,aliases:string[],:LABEL\n", n);
        for (guint i = 0; i < nodes->len; i++) {
            struct node *x = g_ptr_array_index(nodes, i);
            csv_field(n, x->id);
            fputc(',', n);
            csv_field(n, x->name);
            fputc(',', n);
            csv_field(n, x->type);
            fprintf(n, ",%lld,", x->chunks);
            GString *al = g_string_new(NULL);
            for (guint j = 0; j < x->aliases->len; j++)
                g_string_append_printf(al, "%s%s", j ? ";" : "",
                                       (char *)g_ptr_array_index(x->aliases, j));
            csv_field(n, al->str);
            g_string_free(al, TRUE);
            char *l = label(x->type);
            fprintf(n, ",Entity;%s\n", l);
            free(l);
        }
        fputs(":START_ID,:END_ID,:TYPE,count:int\n", r);
        for (guint i = 0; i < edges->len; i++) {
            struct edge *e = g_ptr_array_index(edges, i);
            csv_field(r, e->head);
            fputc(',', r);
            csv_field(r, e->tail);
            char *t = rel_type(e->rel);
            fprintf(r, ",%s,%u\n", t, e->count);
            free(t);
        }
    }
    if ((n && fclose(n) != 0) || (r && fclose(r) != 0))
        rc = rc ? rc : lode_fail(err, LODE_EIO, "%s: cannot write the CSV files", dir);
    free(np);
    free(rp);
    return rc;
}

static void data(xmlTextWriterPtr w, const char *key, const char *value)
{
    xmlTextWriterStartElement(w, BAD_CAST "data");
    xmlTextWriterWriteAttribute(w, BAD_CAST "key", BAD_CAST key);
    xmlTextWriterWriteString(w, BAD_CAST value);
    xmlTextWriterEndElement(w);
}

static int dump_graphml(FILE *out, GPtrArray *nodes, GPtrArray *edges, lode_error *err)
{
    xmlBufferPtr buf = xmlBufferCreate();
    xmlTextWriterPtr w = buf ? xmlNewTextWriterMemory(buf, 0) : NULL;
    if (!w)
        lode_oom(0);
    xmlTextWriterSetIndent(w, 1);
    xmlTextWriterStartDocument(w, NULL, "UTF-8", NULL);
    xmlTextWriterStartElement(w, BAD_CAST "graphml");
    xmlTextWriterWriteAttribute(w, BAD_CAST "xmlns",
                                BAD_CAST "http://graphml.graphdrawing.org/xmlns");
    static const char *const keys[][4] = {
        {"name", "node", "name", "string"},  {"type", "node", "type", "string"},
        {"chunks", "node", "chunks", "int"}, {"aliases", "node", "aliases", "string"},
        {"rel", "edge", "rel", "string"},    {"count", "edge", "count", "int"}};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        xmlTextWriterStartElement(w, BAD_CAST "key");
        xmlTextWriterWriteAttribute(w, BAD_CAST "id", BAD_CAST keys[i][0]);
        xmlTextWriterWriteAttribute(w, BAD_CAST "for", BAD_CAST keys[i][1]);
        xmlTextWriterWriteAttribute(w, BAD_CAST "attr.name", BAD_CAST keys[i][2]);
        xmlTextWriterWriteAttribute(w, BAD_CAST "attr.type", BAD_CAST keys[i][3]);
        xmlTextWriterEndElement(w);
    }
    xmlTextWriterStartElement(w, BAD_CAST "graph");
    xmlTextWriterWriteAttribute(w, BAD_CAST "edgedefault", BAD_CAST "directed");
    for (guint i = 0; i < nodes->len; i++) {
        struct node *x = g_ptr_array_index(nodes, i);
        xmlTextWriterStartElement(w, BAD_CAST "node");
        xmlTextWriterWriteAttribute(w, BAD_CAST "id", BAD_CAST x->id);
        data(w, "name", x->name);
        data(w, "type", x->type);
        char num[32];
        snprintf(num, sizeof num, "%lld", x->chunks);
        data(w, "chunks", num);
        GString *al = g_string_new(NULL);
        for (guint j = 0; j < x->aliases->len; j++)
            g_string_append_printf(al, "%s%s", j ? ";" : "",
                                   (char *)g_ptr_array_index(x->aliases, j));
        if (al->len)
            data(w, "aliases", al->str);
        g_string_free(al, TRUE);
        xmlTextWriterEndElement(w);
    }
    for (guint i = 0; i < edges->len; i++) {
        struct edge *e = g_ptr_array_index(edges, i);
        xmlTextWriterStartElement(w, BAD_CAST "edge");
        xmlTextWriterWriteAttribute(w, BAD_CAST "source", BAD_CAST e->head);
        xmlTextWriterWriteAttribute(w, BAD_CAST "target", BAD_CAST e->tail);
        data(w, "rel", e->rel);
        char num[32];
        snprintf(num, sizeof num, "%u", e->count);
        data(w, "count", num);
        xmlTextWriterEndElement(w);
    }
    xmlTextWriterEndDocument(w);
    xmlFreeTextWriter(w);
    int rc = fwrite(xmlBufferContent(buf), 1, (size_t)xmlBufferLength(buf), out) ==
            (size_t)xmlBufferLength(buf)
        ? 0
        : lode_fail(err, LODE_EIO, "cannot write the GraphML");
    xmlBufferFree(buf);
    return rc;
}

long kg_dump(struct store *s, const char *format, const char *dir, FILE *out, lode_error *err)
{
    GPtrArray *nodes = g_ptr_array_new_with_free_func(node_free),
              *edges = g_ptr_array_new_with_free_func(edge_free);
    int rc = store_begin(s, 0, err);
    if (rc < 0)
        goto done;
    if (s->has_kg)
        read_graph(s, nodes, edges);
    store_abort(s);
    if (!strcmp(format, "neo4j")) {
        rc = dump_neo4j(dir, nodes, edges, err);
    } else if (!strcmp(format, "graphml")) {
        rc = dump_graphml(out, nodes, edges, err);
    } else {
        for (guint i = 0; i < nodes->len; i++) {
            struct node *x = g_ptr_array_index(nodes, i);
            json_t *o = json_object();
            record_set_str(o, "kind", "node");
            record_set_str(o, "id", x->id);
            record_set_str(o, "name", x->name);
            record_set_str(o, "type", x->type);
            record_set_int(o, "chunks", x->chunks);
            json_t *al = json_array();
            for (guint j = 0; j < x->aliases->len; j++)
                json_array_append_new(al, json_string(g_ptr_array_index(x->aliases, j)));
            json_object_set_new(o, "aliases", al);
            struct buf b = {0};
            record_dump(&b, o);
            fwrite(b.data, 1, b.len, out);
            buf_free(&b);
            json_decref(o);
        }
        for (guint i = 0; i < edges->len; i++) {
            struct edge *e = g_ptr_array_index(edges, i);
            json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:I}", "kind", "edge", "head", e->head, "tail",
                                  e->tail, "rel", e->rel, "count", (json_int_t)e->count);
            struct buf b = {0};
            record_dump(&b, o);
            fwrite(b.data, 1, b.len, out);
            buf_free(&b);
            json_decref(o);
        }
        if (fflush(out) != 0)
            rc = lode_fail(err, LODE_EIO, "cannot write standard output");
    }
done:;
    long n = rc < 0 ? rc : (long)nodes->len;
    g_ptr_array_free(nodes, TRUE);
    g_ptr_array_free(edges, TRUE);
    return n;
}

/* An entity's norm from a name, a norm or an alias (malloc'd), or NULL. */
static char *resolve(struct store *s, const char *name)
{
    char *f = entities_fold(name, strlen(name));
    if (!*f || strlen(f) > KG_MAX_NORM) {
        free(f);
        return NULL;
    }
    /* an acronym stands for its expansion, as read_graph() merges them */
    json_t *a = get_json(s, T_ALIASES, f, strlen(f));
    const char *best = most(a, NULL);
    char *to = best ? xstrdup(best) : NULL;
    json_decref(a);
    MDB_val v;
    if (!to && store_get(s, s->kg_entities, f, strlen(f), &v) == 0)
        to = xstrdup(f);
    free(f);
    return to;
}

static size_t mentions(struct store *s, const char *norm, uint32_t **out)
{
    size_t nl = strlen(norm), n = 0, cap = 0;
    uint32_t *v = NULL;
    MDB_cursor *c;
    if (mdb_cursor_open(s->txn, s->kg_mentions, &c) == 0) {
        char *prefix = xmalloc(nl + 1);
        memcpy(prefix, norm, nl + 1);
        MDB_val k = {nl + 1, prefix}, d;
        for (int rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE);
             rc == 0 && k.mv_size == nl + 5 && !memcmp(k.mv_data, prefix, nl + 1);
             rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
            v = xgrowarray(v, &cap, n + 1, sizeof *v);
            v[n++] = get_be32((const unsigned char *)k.mv_data + nl + 1);
        }
        free(prefix);
        mdb_cursor_close(c);
    }
    *out = v;
    return n;
}

/* The neighbours of norm: calls fn for each edge under it. */
static void neighbours(struct store *s, const char *norm,
                       void (*fn)(void *ud, const char *other, const char *rel, char dir,
                                  uint32_t count),
                       void *ud)
{
    size_t nl = strlen(norm);
    MDB_cursor *c;
    if (mdb_cursor_open(s->txn, s->kg_edges, &c) != 0)
        return;
    char *prefix = xmalloc(nl + 1);
    memcpy(prefix, norm, nl + 1);
    MDB_val k = {nl + 1, prefix}, d;
    for (int rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE);
         rc == 0 && k.mv_size > nl + 1 && !memcmp(k.mv_data, prefix, nl + 1);
         rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
        const char *a, *b, *rel;
        char dir;
        if (edge_key(&k, &a, &b, &rel, &dir) == 0 && d.mv_size == 4)
            fn(ud, b, rel, dir, get_le32(d.mv_data));
    }
    free(prefix);
    mdb_cursor_close(c);
}

struct gather {
    GHashTable *alias;
    const char *self;
    GHashTable *sum; /* "other\x1frel\x1fdir" -> count */
};

static void add_neighbour(void *ud, const char *other, const char *rel, char dir, uint32_t count)
{
    struct gather *g = ud;
    const char *o = canon(g->alias, other);
    if (!strcmp(o, g->self))
        return;
    char *key = xasprintf("%s\x1f%s\x1f%c", o, rel, dir);
    uint32_t had = GPOINTER_TO_UINT(g_hash_table_lookup(g->sum, key));
    g_hash_table_replace(g->sum, key, GUINT_TO_POINTER(had + count));
}

static int by_count(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    json_int_t cx = json_integer_value(json_object_get(x, "count")),
               cy = json_integer_value(json_object_get(y, "count"));
    if (cx != cy)
        return (cx < cy) - (cx > cy);
    return strcmp(record_str(x, "name"), record_str(y, "name"));
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

json_t *kg_entity(struct store *s, const char *name, uint32_t **chunks, size_t *nchunks)
{
    *chunks = NULL;
    *nchunks = 0;
    if (!s->has_kg)
        return NULL;
    char *norm = resolve(s, name);
    if (!norm)
        return NULL;
    /* the entity and the acronyms' entities merged into it */
    GHashTable *alias = alias_map(s);
    GPtrArray *ids = g_ptr_array_new();
    g_ptr_array_add(ids, norm);
    json_t *al = json_array();
    GHashTableIter it;
    gpointer key, val;
    g_hash_table_iter_init(&it, alias);
    while (g_hash_table_iter_next(&it, &key, &val))
        if (!strcmp(val, norm)) {
            json_array_append_new(al, json_string(key));
            g_ptr_array_add(ids, key);
        }
    json_t *names = json_object(), *types = json_object();
    GHashTable *seen = g_hash_table_new(g_direct_hash, g_direct_equal);
    struct gather g = {alias, norm, g_hash_table_new_full(g_str_hash, g_str_equal, free, NULL)};
    uint32_t *all = NULL;
    size_t nall = 0, cap = 0;
    for (guint i = 0; i < ids->len; i++) {
        const char *id = g_ptr_array_index(ids, i);
        MDB_val v;
        if (store_get(s, s->kg_entities, id, strlen(id), &v) != 0)
            continue;
        json_t *o = get_json(s, T_ENTITIES, id, strlen(id));
        add_counts(names, json_object_get(o, "names"));
        add_counts(types, json_object_get(o, "types"));
        json_decref(o);
        uint32_t *m;
        size_t nm = mentions(s, id, &m);
        for (size_t x = 0; x < nm; x++)
            if (g_hash_table_add(seen, GUINT_TO_POINTER(m[x] + 1))) {
                all = xgrowarray(all, &cap, nall + 1, sizeof *all);
                all[nall++] = m[x];
            }
        free(m);
        neighbours(s, id, add_neighbour, &g);
    }
    if (nall > 1)
        qsort(all, nall, sizeof *all, cmp_u32);
    json_t *out = json_object();
    record_set_str(out, "entity", most(names, norm));
    record_set_str(out, "norm", norm);
    record_set_str(out, "type", most(types, "name"));
    json_object_set_new(out, "aliases", al);
    record_set_int(out, "chunks", (long long)nall);
    size_t n = g_hash_table_size(g.sum), k = 0;
    json_t **items = xmalloc(sizeof *items * (n + 1));
    g_hash_table_iter_init(&it, g.sum);
    while (g_hash_table_iter_next(&it, &key, &val)) {
        char *f1 = strchr(key, '\x1f'), *f2 = strrchr(key, '\x1f');
        char *other = xstrndup(key, (size_t)(f1 - (char *)key));
        char *rel = xstrndup(f1 + 1, (size_t)(f2 - f1 - 1));
        items[k++] =
            json_pack("{s:s,s:s,s:s,s:I}", "name", other, "rel", rel, "direction",
                      f2[1] == '>' ? "out" : "in", "count", (json_int_t)GPOINTER_TO_UINT(val));
        free(other);
        free(rel);
    }
    if (n > 1)
        qsort(items, n, sizeof *items, by_count);
    json_t *nb = json_array();
    for (size_t x = 0; x < n; x++)
        json_array_append_new(nb, items[x]);
    free(items);
    json_object_set_new(out, "neighbours", nb);
    json_decref(names);
    json_decref(types);
    g_hash_table_destroy(g.sum);
    g_hash_table_destroy(seen);
    g_ptr_array_free(ids, TRUE);
    g_hash_table_destroy(alias);
    free(norm);
    *chunks = all;
    *nchunks = nall;
    return out;
}

/* ---- the graph's ranked list ---- */

struct scoring {
    struct store *s;
    GHashTable *score; /* chunk number + 1 -> double* */
    int hops;
};

static void add_score(struct scoring *sc, uint32_t num, double w)
{
    double *d = g_hash_table_lookup(sc->score, GUINT_TO_POINTER(num + 1));
    if (!d) {
        d = xcalloc(1, sizeof *d);
        g_hash_table_insert(sc->score, GUINT_TO_POINTER(num + 1), d);
    }
    *d += w;
}

static void score_neighbour(void *ud, const char *other, const char *rel, char dir, uint32_t count)
{
    (void)rel, (void)dir;
    struct scoring *sc = ud;
    if (sc->hops++ > 64)
        return; /* the first 64 edges of an entity */
    uint32_t *nums;
    size_t n = mentions(sc->s, other, &nums);
    double w = (double)count / ((double)count + 1);
    for (size_t i = 0; i < n; i++)
        add_score(sc, nums[i], w);
    free(nums);
}

struct scored {
    uint32_t num;
    double score;
};

static int best_first(const void *a, const void *b)
{
    const struct scored *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? 1 : -1;
    return (x->num > y->num) - (x->num < y->num);
}

size_t kg_search(struct store *s, const char *text, size_t k, uint32_t **nums, double **scores)
{
    *nums = NULL;
    *scores = NULL;
    if (!s->has_kg || !k)
        return 0;
    /* the words, case-folded */
    char *f = entities_fold(text, strlen(text));
    GPtrArray *words = g_ptr_array_new_with_free_func(free);
    for (char *p = f; *p;) {
        while (*p && !(g_ascii_isalnum(*p) || (unsigned char)*p >= 0x80 || *p == '-'))
            p++;
        char *w = p;
        while (*p &&
               (g_ascii_isalnum(*p) || (unsigned char)*p >= 0x80 || *p == '-' || *p == '.' ||
                *p == '@'))
            p++;
        size_t wl = (size_t)(p - w);
        while (wl && w[wl - 1] == '.')
            wl--;
        if (wl)
            g_ptr_array_add(words, xstrndup(w, wl));
    }
    free(f);
    struct scoring sc = {s, g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, free), 0};
    GHashTable *found = g_hash_table_new_full(g_str_hash, g_str_equal, free, NULL);
    for (guint i = 0; i < words->len; i++)
        for (guint n = 4; n >= 1; n--) {
            if (i + n > words->len)
                continue;
            GString *g = g_string_new(NULL);
            for (guint j = 0; j < n; j++)
                g_string_append_printf(g, "%s%s", j ? " " : "",
                                       (char *)g_ptr_array_index(words, i + j));
            char *norm = resolve(s, g->str);
            g_string_free(g, TRUE);
            if (!norm)
                continue;
            if (!g_hash_table_contains(found, norm)) {
                uint32_t *m;
                size_t nm = mentions(s, norm, &m);
                for (size_t x = 0; x < nm; x++)
                    add_score(&sc, m[x], 1.0);
                free(m);
                sc.hops = 0;
                neighbours(s, norm, score_neighbour, &sc);
            }
            g_hash_table_add(found, norm);
            break; /* the longest match at this word */
        }
    g_ptr_array_free(words, TRUE);
    g_hash_table_destroy(found);
    size_t n = g_hash_table_size(sc.score), i = 0;
    struct scored *v = xmalloc(sizeof *v * (n + 1));
    GHashTableIter it;
    gpointer key, val;
    g_hash_table_iter_init(&it, sc.score);
    while (g_hash_table_iter_next(&it, &key, &val))
        v[i++] = (struct scored){GPOINTER_TO_UINT(key) - 1, *(double *)val};
    g_hash_table_destroy(sc.score);
    if (n > 1)
        qsort(v, n, sizeof *v, best_first);
    if (n > k)
        n = k;
    *nums = xmalloc(sizeof **nums * (n + 1));
    *scores = xmalloc(sizeof **scores * (n + 1));
    for (i = 0; i < n; i++)
        (*nums)[i] = v[i].num, (*scores)[i] = v[i].score;
    free(v);
    return n;
}

/* ---- --check ---- */

static gboolean bytes_equal(gconstpointer a, gconstpointer b)
{
    return g_bytes_equal(a, b);
}

long kg_check(struct store *s, void (*problem)(void *ud, const char *msg), void *ud)
{
    if (!s->has_kg)
        return 0;
    struct kg_io mem = {s, {NULL}};
    for (int t = 0; t < T_N; t++)
        mem.mem[t] = g_hash_table_new_full(g_bytes_hash, bytes_equal, (GDestroyNotify)g_bytes_unref,
                                           (GDestroyNotify)g_bytes_unref);
    /* the graph the chunks say, built in memory */
    MDB_cursor *c;
    MDB_val k, v;
    if (mdb_cursor_open(s->txn, s->chunks, &c) == 0) {
        for (int op = MDB_FIRST; mdb_cursor_get(c, &k, &v, (MDB_cursor_op)op) == 0; op = MDB_NEXT) {
            lode_error err;
            json_t *rec = k.mv_size == 4 ? record_parse(v.mv_data, v.mv_size, &err) : NULL;
            if (rec)
                apply(&mem, get_be32(k.mv_data), rec, 1);
            json_decref(rec);
        }
        mdb_cursor_close(c);
    }
    static const char *const names[T_N] = {"kg_entities", "kg_mentions", "kg_edges", "kg_aliases"};
    long problems = 0;
    for (int t = 0; t < T_N; t++) {
        size_t present = 0, bad = 0; /* stored entries the chunks also say; differing ones */
        if (mdb_cursor_open(s->txn, table(&mem, t), &c) == 0) {
            for (int op = MDB_FIRST; mdb_cursor_get(c, &k, &v, (MDB_cursor_op)op) == 0;
                 op = MDB_NEXT) {
                GBytes *key = g_bytes_new_static(k.mv_data, k.mv_size);
                GBytes *want = g_hash_table_lookup(mem.mem[t], key);
                g_bytes_unref(key);
                int same = 0;
                present += want != NULL;
                if (want) {
                    gsize n;
                    const char *w = g_bytes_get_data(want, &n);
                    if (t == T_ENTITIES || t == T_ALIASES) { /* objects: keys in any order */
                        lode_error err;
                        json_t *a = record_parse(w, n, &err),
                               *b = record_parse(v.mv_data, v.mv_size, &err);
                        same = a && b && json_equal(a, b);
                        json_decref(a);
                        json_decref(b);
                    } else {
                        same = n == v.mv_size &&
                            (n == 0 || !memcmp(w, v.mv_data, n)); /* an empty value may be NULL */
                    }
                }
                if (!same && bad++ < 5) {
                    char *shown = xstrndup(k.mv_data, strnlen(k.mv_data, k.mv_size));
                    char *msg = xasprintf("graph: %s entry \"%s\" %s", names[t], shown,
                                          want ? "differs from what the chunks say"
                                               : "is not backed by any chunk");
                    problem(ud, msg);
                    free(msg);
                    free(shown);
                }
                problems += !same;
            }
            mdb_cursor_close(c);
        }
        size_t missing = g_hash_table_size(mem.mem[t]) - present;
        if (missing) {
            char *msg = xasprintf("graph: %s lacks %zu entries the chunks say", names[t], missing);
            problem(ud, msg);
            free(msg);
            problems += (long)missing;
        }
        g_hash_table_destroy(mem.mem[t]);
    }
    return problems;
}
