/* SPDX-License-Identifier: Apache-2.0 */
#include "items_ddbtext.h"
#include "items_json.h"

#include <apr_strings.h>

#include <string.h>

/*
 * Every "not this path" is APR_ENOTIMPL, and so is every malformation: the
 * jansson path reads the answer again and says what is wrong with it.
 */
#define DECLINE APR_ENOTIMPL
#define MAX_MEMBERS 128       /* members of one item or map this path takes */
#define MAX_SKIP_DEPTH (2 * ITEMS_DDBTEXT_MAX_DEPTH + 8) /* JSON nesting it checks */
#define MAX_NUMBER_CHARS 15   /* numbers outside attribute values: jansson's int64/double */

typedef struct reader {
    const char *s, *end;
} reader_t;

typedef struct writer {
    char *buf;
    apr_size_t len, cap;
} writer_t;

typedef struct span {
    const char *s;
    apr_size_t n;
} span_t;

/* The names of one object so far, to decline duplicates (jansson would keep one of them). */
typedef struct names {
    span_t *all;
    int n, cap;
} names_t;

static void skip_ws(reader_t *r)
{
    while (r->s < r->end && (*r->s == ' ' || *r->s == '\t' || *r->s == '\n' || *r->s == '\r')) {
        r->s++;
    }
}

/* Consume c (after white space). */
static int take(reader_t *r, char c)
{
    skip_ws(r);
    if (r->s < r->end && *r->s == c) {
        r->s++;
        return 1;
    }
    return 0;
}

/*
 * Walks the members of the array or object at r, opened by `open` and closed by
 * `close`: with *n = 0 before the first call, MEMBER while one more is to be read at
 * r (*n counts them from 1), MEMBERS_END after the closing bracket, MEMBERS_BAD when
 * r holds anything else.
 */
enum { MEMBERS_BAD = -1, MEMBERS_END = 0, MEMBER = 1 };

static int next_member(reader_t *r, char open, char close, int *n)
{
    if (*n == 0) {
        if (!take(r, open)) {
            return MEMBERS_BAD;
        }
        if (take(r, close)) {
            return MEMBERS_END;
        }
    }
    else if (!take(r, ',')) {
        return take(r, close) ? MEMBERS_END : MEMBERS_BAD;
    }
    ++*n;
    return MEMBER;
}

static int put(writer_t *w, const char *s, apr_size_t n)
{
    if (n > w->cap - w->len) {
        return 0;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    return 1;
}

/* Length of the UTF-8 sequence at s (RFC 3629: no overlongs, surrogates or > U+10FFFF), 0: invalid. */
static apr_size_t utf8_len(const unsigned char *s, const unsigned char *end)
{
    apr_size_t n, i;
    unsigned long cp;

    if (s[0] < 0x80) {
        return 1;
    }
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        n = 2;
        cp = s[0] & 0x1f;
    }
    else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        n = 3;
        cp = s[0] & 0x0f;
    }
    else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        n = 4;
        cp = s[0] & 0x07;
    }
    else {
        return 0;
    }
    if ((apr_size_t)(end - s) < n) {
        return 0;
    }
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff))) {
        return 0;
    }
    return n;
}

/*
 * A string token: its raw content between the quotes. Escapes are taken only
 * where jansson writes them back the same way (\" \\ \b \f \n \r \t) or as
 * the character itself (\/); \u is declined. *escaped: a backslash is in it.
 */
static apr_status_t string_token(span_t *raw, int *escaped, reader_t *r)
{
    const unsigned char *s, *end = (const unsigned char *)r->end;

    *escaped = 0;
    if (!take(r, '"')) {
        return DECLINE;
    }
    s = (const unsigned char *)r->s;
    raw->s = r->s;
    while (s < end && *s != '"') {
        if (*s == '\\') {
            if (s + 1 >= end || !strchr("\"\\/bfnrt", s[1]) || !s[1]) {
                return DECLINE;
            }
            *escaped = 1;
            s += 2;
        }
        else if (*s < 0x20) {
            return DECLINE;
        }
        else if (*s < 0x80) {
            s++;
        }
        else {
            apr_size_t n = utf8_len(s, end);
            if (!n) {
                return DECLINE;
            }
            s += n;
        }
    }
    if (s >= end) {
        return DECLINE;
    }
    raw->n = (apr_size_t)((const char *)s - raw->s);
    r->s = (const char *)s + 1;
    return APR_SUCCESS;
}

/* A string without escapes, e.g. a name or a type. */
static apr_status_t plain_string(span_t *raw, reader_t *r)
{
    int escaped;
    apr_status_t rv = string_token(raw, &escaped, r);

    return rv == APR_SUCCESS && escaped ? DECLINE : rv;
}

static int span_is(const span_t *sp, const char *lit)
{
    return sp->n == strlen(lit) && !memcmp(sp->s, lit, sp->n);
}

/* A string as jansson writes it (JSON_COMPACT, no JSON_ESCAPE_SLASH): only \/ changes. */
static int put_string(writer_t *w, const span_t *raw, int escaped)
{
    apr_size_t i;

    if (!put(w, "\"", 1)) {
        return 0;
    }
    if (!escaped) {
        return put(w, raw->s, raw->n) && put(w, "\"", 1);
    }
    for (i = 0; i < raw->n; i++) {
        if (raw->s[i] == '\\' && raw->s[i + 1] == '/') {
            if (!put(w, "/", 1)) {
                return 0;
            }
            i++;
        }
        else if (raw->s[i] == '\\') {
            if (!put(w, raw->s + i, 2)) {
                return 0;
            }
            i++;
        }
        else if (!put(w, raw->s + i, 1)) {
            return 0;
        }
    }
    return put(w, "\"", 1);
}

static int take_literal(reader_t *r, const char *lit)
{
    apr_size_t n = strlen(lit);

    skip_ws(r);
    if ((apr_size_t)(r->end - r->s) >= n && !memcmp(r->s, lit, n)) {
        r->s += n;
        return 1;
    }
    return 0;
}

/* Check one JSON value and step over it (members this path does not use). */
static apr_status_t skip_value(reader_t *r, int depth)
{
    span_t raw;
    int escaped, n = 0, m;

    if (depth > MAX_SKIP_DEPTH) {
        return DECLINE;
    }
    skip_ws(r);
    if (r->s >= r->end) {
        return DECLINE;
    }
    switch (*r->s) {
    case '"':
        return string_token(&raw, &escaped, r);
    case '{':
        while ((m = next_member(r, '{', '}', &n)) == MEMBER) {
            if (plain_string(&raw, r) != APR_SUCCESS || !take(r, ':')
                || skip_value(r, depth + 1) != APR_SUCCESS) {
                return DECLINE;
            }
        }
        return m == MEMBERS_END ? APR_SUCCESS : DECLINE;
    case '[':
        while ((m = next_member(r, '[', ']', &n)) == MEMBER) {
            if (skip_value(r, depth + 1) != APR_SUCCESS) {
                return DECLINE;
            }
        }
        return m == MEMBERS_END ? APR_SUCCESS : DECLINE;
    case 't':
        return take_literal(r, "true") ? APR_SUCCESS : DECLINE;
    case 'f':
        return take_literal(r, "false") ? APR_SUCCESS : DECLINE;
    case 'n':
        return take_literal(r, "null") ? APR_SUCCESS : DECLINE;
    default: {
        /* small plain numbers only (Count, ScannedCount): within jansson's ranges */
        const char *start = r->s, *e = r->s;
        while (e < r->end && e - start <= MAX_NUMBER_CHARS && strchr("-0123456789.", *e) && *e) {
            e++;
        }
        if (e == start || e - start > MAX_NUMBER_CHARS || !items_json_is_number(start, (apr_size_t)(e - start))
            || (e < r->end && (*e == 'e' || *e == 'E'))) {
            return DECLINE;
        }
        r->s = e;
        return APR_SUCCESS;
    }
    }
}

/* Add a member's name; 0 when the object already has it or has too many. */
static int name_added(names_t *names, apr_pool_t *p, const span_t *key)
{
    int i;

    for (i = 0; i < names->n; i++) {
        if (names->all[i].n == key->n && !memcmp(names->all[i].s, key->s, key->n)) {
            return 0;
        }
    }
    if (names->n == names->cap) {
        span_t *grown;
        if (names->cap == MAX_MEMBERS) {
            return 0;
        }
        names->cap = names->cap ? names->cap * 2 : 16;
        grown = apr_palloc(p, (apr_size_t)names->cap * sizeof(*grown));
        if (names->n) {
            memcpy(grown, names->all, (apr_size_t)names->n * sizeof(*grown));
        }
        names->all = grown;
    }
    names->all[names->n++] = *key;
    return 1;
}

static apr_status_t attribute_value(writer_t *w, apr_pool_t *p, reader_t *r, int depth);

/* [ string, ... ] of a set: as strings (SS, BS) or as numbers (NS). */
static apr_status_t set_value(writer_t *w, reader_t *r, int numbers)
{
    span_t raw;
    int escaped, n = 0, m;

    if (!put(w, "[", 1)) {
        return DECLINE;
    }
    while ((m = next_member(r, '[', ']', &n)) == MEMBER) {
        if (string_token(&raw, &escaped, r) != APR_SUCCESS || (n > 1 && !put(w, ",", 1))
            || (numbers ? escaped || !items_json_is_number(raw.s, raw.n) || !put(w, raw.s, raw.n)
                        : !put_string(w, &raw, escaped))) {
            return DECLINE;
        }
    }
    return m == MEMBERS_END && put(w, "]", 1) ? APR_SUCCESS : DECLINE;
}

/* A map's members (M) as an object, in their order. */
static apr_status_t map_value(writer_t *w, apr_pool_t *p, reader_t *r, int depth)
{
    names_t names = { NULL, 0, 0 };
    span_t key;
    int n = 0, m;

    if (!put(w, "{", 1)) {
        return DECLINE;
    }
    while ((m = next_member(r, '{', '}', &n)) == MEMBER) {
        if (plain_string(&key, r) != APR_SUCCESS || !take(r, ':') || !name_added(&names, p, &key)
            || (n > 1 && !put(w, ",", 1)) || !put_string(w, &key, 0) || !put(w, ":", 1)
            || attribute_value(w, p, r, depth + 1) != APR_SUCCESS) {
            return DECLINE;
        }
    }
    return m == MEMBERS_END && put(w, "}", 1) ? APR_SUCCESS : DECLINE;
}

/* A list's elements (L) as an array. */
static apr_status_t list_value(writer_t *w, apr_pool_t *p, reader_t *r, int depth)
{
    int n = 0, m;

    if (!put(w, "[", 1)) {
        return DECLINE;
    }
    while ((m = next_member(r, '[', ']', &n)) == MEMBER) {
        if ((n > 1 && !put(w, ",", 1)) || attribute_value(w, p, r, depth + 1) != APR_SUCCESS) {
            return DECLINE;
        }
    }
    return m == MEMBERS_END && put(w, "]", 1) ? APR_SUCCESS : DECLINE;
}

/* One AttributeValue, {"<type>": value}, as plain JSON. */
static apr_status_t attribute_value(writer_t *w, apr_pool_t *p, reader_t *r, int depth)
{
    span_t type, raw;
    int escaped;
    apr_status_t rv;

    if (depth > ITEMS_DDBTEXT_MAX_DEPTH || !take(r, '{') || plain_string(&type, r) != APR_SUCCESS
        || !take(r, ':')) {
        return DECLINE;
    }
    if (span_is(&type, "S") || span_is(&type, "B")) {
        rv = string_token(&raw, &escaped, r) == APR_SUCCESS && put_string(w, &raw, escaped)
                 ? APR_SUCCESS
                 : DECLINE;
    }
    else if (span_is(&type, "N")) {
        rv = plain_string(&raw, r) == APR_SUCCESS && items_json_is_number(raw.s, raw.n)
                     && put(w, raw.s, raw.n)
                 ? APR_SUCCESS
                 : DECLINE;
    }
    else if (span_is(&type, "BOOL")) {
        rv = take_literal(r, "true") ? (put(w, "true", 4) ? APR_SUCCESS : DECLINE)
             : take_literal(r, "false") ? (put(w, "false", 5) ? APR_SUCCESS : DECLINE)
                                         : DECLINE;
    }
    else if (span_is(&type, "NULL")) {
        rv = take_literal(r, "true") && put(w, "null", 4) ? APR_SUCCESS : DECLINE;
    }
    else if (span_is(&type, "M")) {
        rv = map_value(w, p, r, depth);
    }
    else if (span_is(&type, "L")) {
        rv = list_value(w, p, r, depth);
    }
    else if (span_is(&type, "SS") || span_is(&type, "BS")) {
        rv = set_value(w, r, 0);
    }
    else if (span_is(&type, "NS")) {
        rv = set_value(w, r, 1);
    }
    else {
        rv = DECLINE;
    }
    return rv == APR_SUCCESS && take(r, '}') ? APR_SUCCESS : DECLINE;
}

/* The string of {"S": "..."} without escapes, else NULL. */
static const char *simple_string(apr_pool_t *p, reader_t *r)
{
    span_t type, raw;

    if (take(r, '{') && plain_string(&type, r) == APR_SUCCESS && span_is(&type, "S")
        && take(r, ':') && plain_string(&raw, r) == APR_SUCCESS && take(r, '}')) {
        return apr_pstrmemdup(p, raw.s, raw.n);
    }
    return NULL;
}

/*
 * One stored item: "id" first, the module's "_" attributes out into the item's
 * fields. One pass: every member is written as ,"name":value; the id's is then
 * moved to the front, and the first comma becomes the opening brace.
 */
static apr_status_t item(items_ddbtext_item_t *it, writer_t *w, apr_pool_t *p, reader_t *r)
{
    names_t names = { NULL, 0, 0 };
    apr_size_t start = w->len, id_at = 0, id_len = 0;
    span_t key;
    int n = 0, m;

    memset(it, 0, sizeof(*it));
    if (!put(w, "{", 1)) {
        return DECLINE;
    }
    while ((m = next_member(r, '{', '}', &n)) == MEMBER) {
        apr_size_t at = w->len;

        if (plain_string(&key, r) != APR_SUCCESS || !take(r, ':') || !name_added(&names, p, &key)) {
            return DECLINE;
        }
        if (key.n && key.s[0] == '_') {
            const char **meta = span_is(&key, "_version")   ? &it->version
                                : span_is(&key, "_request") ? &it->request
                                                            : NULL;
            if (meta ? !(*meta = simple_string(p, r)) : skip_value(r, 1) != APR_SUCCESS) {
                return DECLINE; /* meta is taken in its plain form only */
            }
            continue;
        }
        if (!put(w, ",", 1) || !put_string(w, &key, 0) || !put(w, ":", 1)
            || attribute_value(w, p, r, 1) != APR_SUCCESS) {
            return DECLINE;
        }
        if (span_is(&key, "id")) {
            id_at = at;
            id_len = w->len - at;
        }
    }
    if (m != MEMBERS_END) {
        return DECLINE;
    }
    if (id_len) {
        /* ,"id":"..." -- a string value without escapes is the id itself */
        const char *v = w->buf + id_at + 6;
        apr_size_t vn = id_len - 6;
        if (vn >= 2 && v[0] == '"' && !memchr(v, '\\', vn)) {
            it->id = apr_pstrmemdup(p, v + 1, vn - 2);
        }
        if (id_at != start + 1) {
            char *moved = apr_pmemdup(p, w->buf + id_at, id_len);
            memmove(w->buf + start + 1 + id_len, w->buf + start + 1, id_at - (start + 1));
            memcpy(w->buf + start + 1, moved, id_len);
        }
    }
    if (w->len > start + 1) {
        w->buf[++start] = '{'; /* over the first member's comma */
    }
    if (!put(w, "}", 1)) {
        return DECLINE;
    }
    it->text = w->buf + start;
    it->len = w->len - start;
    return put(w, "", 1) ? APR_SUCCESS : DECLINE;
}

apr_status_t items_ddbtext_items(items_ddbtext_answer_t *answer, apr_pool_t *p, const char *body,
                                 apr_size_t len, int scan)
{
    reader_t r = { body, body + len };
    writer_t w;
    span_t key;
    int seen_items = 0, seen_more = 0, cap = 0, members = 0, n = 0, m;

    memset(answer, 0, sizeof(*answer));
    /* The client's form is shorter than DynamoDB's but for "{}" items (+1 each: the NUL). */
    w.cap = len + len / 2 + 64;
    w.buf = apr_palloc(p, w.cap);
    w.len = 0;
    while ((m = next_member(&r, '{', '}', &members)) == MEMBER) {
        if (plain_string(&key, &r) != APR_SUCCESS || !take(&r, ':')) {
            return DECLINE;
        }
        if (span_is(&key, scan ? "Items" : "Item")) {
            if (seen_items++) {
                return DECLINE;
            }
            if (!scan) {
                answer->items = apr_palloc(p, sizeof(*answer->items));
                if (item(&answer->items[0], &w, p, &r) != APR_SUCCESS) {
                    return DECLINE;
                }
                answer->n_items = 1;
                continue;
            }
            while ((m = next_member(&r, '[', ']', &n)) == MEMBER) {
                if (answer->n_items == cap) {
                    items_ddbtext_item_t *grown;
                    cap = cap ? cap * 2 : 16;
                    grown = apr_palloc(p, (apr_size_t)cap * sizeof(*grown));
                    if (answer->n_items) {
                        memcpy(grown, answer->items, answer->n_items * sizeof(*grown));
                    }
                    answer->items = grown;
                }
                if (item(&answer->items[answer->n_items], &w, p, &r) != APR_SUCCESS) {
                    return DECLINE;
                }
                answer->n_items++;
            }
            if (m != MEMBERS_END) {
                return DECLINE;
            }
        }
        else if (scan && span_is(&key, "LastEvaluatedKey")) {
            if (seen_more++ || skip_value(&r, 1) != APR_SUCCESS) {
                return DECLINE;
            }
            answer->has_more = 1;
        }
        else if (skip_value(&r, 1) != APR_SUCCESS) {
            return DECLINE;
        }
    }
    skip_ws(&r);
    if (m != MEMBERS_END || r.s != r.end || (scan && !seen_items)) {
        return DECLINE;
    }
    return APR_SUCCESS;
}
