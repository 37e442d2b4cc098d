/* SPDX-License-Identifier: Apache-2.0 */
#include "items_json.h"
#include "items_status.h"

#include <apr_strings.h>

/* A number-text value is the string NUMBER_TAG followed by the number's text. */
#define NUMBER_TAG "\0#"
#define NUMBER_TAG_LEN 2
/* ...which jansson writes as this. */
#define DUMPED_TAG "\"\\u0000#"
#define DUMPED_TAG_LEN 8

static apr_status_t json_release(void *value)
{
    json_decref(value);
    return APR_SUCCESS;
}

json_t *items_json_own(apr_pool_t *p, json_t *value)
{
    if (value) {
        apr_pool_cleanup_register(p, value, json_release, apr_pool_cleanup_null);
    }
    return value;
}

/* The decimal digits from s, not past end: where they stop, NULL when there are none. */
static const char *skip_digits(const char *s, const char *end)
{
    const char *start = s;

    while (s < end && *s >= '0' && *s <= '9') {
        s++;
    }
    return s > start ? s : NULL;
}

int items_json_is_number(const char *s, apr_size_t n)
{
    const char *end = s + n;

    if (s < end && *s == '-') {
        s++;
    }
    if (s < end && *s == '0') {
        s++;
    }
    else if (!(s = skip_digits(s, end))) {
        return 0;
    }
    if (s < end && *s == '.' && !(s = skip_digits(s + 1, end))) {
        return 0;
    }
    if (s < end && (*s == 'e' || *s == 'E')) {
        s++;
        if (s < end && (*s == '+' || *s == '-')) {
            s++;
        }
        if (!(s = skip_digits(s, end))) {
            return 0;
        }
    }
    return s == end;
}

json_t *items_json_number(const char *text)
{
    size_t n = strlen(text);
    char buf[128];
    char *s = n + NUMBER_TAG_LEN <= sizeof(buf) ? buf : malloc(n + NUMBER_TAG_LEN);
    json_t *v;

    if (!s) {
        return NULL;
    }
    memcpy(s, NUMBER_TAG, NUMBER_TAG_LEN);
    memcpy(s + NUMBER_TAG_LEN, text, n);
    v = json_stringn(s, n + NUMBER_TAG_LEN);
    if (s != buf) {
        free(s);
    }
    return v;
}

const char *items_json_number_text(const json_t *v)
{
    const char *s;

    if (!json_is_string(v) || json_string_length(v) <= NUMBER_TAG_LEN) {
        return NULL;
    }
    s = json_string_value(v);
    return memcmp(s, NUMBER_TAG, NUMBER_TAG_LEN) ? NULL : s + NUMBER_TAG_LEN;
}

static int depth_exceeds(const json_t *value, int depth)
{
    const char *key;
    json_t *member;
    size_t i;

    if (depth > ITEMS_JSON_MAX_DEPTH) {
        return 1;
    }
    if (json_is_object(value)) {
        json_object_foreach((json_t *)value, key, member) {
            if (depth_exceeds(member, depth + 1)) {
                return 1;
            }
        }
    }
    else if (json_is_array(value)) {
        json_array_foreach(value, i, member) {
            if (depth_exceeds(member, depth + 1)) {
                return 1;
            }
        }
    }
    return 0;
}

/* Length of the JSON number at s (RFC 8259 grammar), 0 if there is none. */
static apr_size_t number_length(const char *s, apr_size_t n)
{
    apr_size_t i = 0, digits;

    if (i < n && s[i] == '-') {
        i++;
    }
    if (i < n && s[i] == '0') {
        i++;
    }
    else {
        for (digits = 0; i < n && s[i] >= '0' && s[i] <= '9'; i++, digits++) {
        }
        if (!digits) {
            return 0;
        }
    }
    if (i < n && s[i] == '.') {
        for (i++, digits = 0; i < n && s[i] >= '0' && s[i] <= '9'; i++, digits++) {
        }
        if (!digits) {
            return 0;
        }
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) {
            i++;
        }
        for (digits = 0; i < n && s[i] >= '0' && s[i] <= '9'; i++, digits++) {
        }
        if (!digits) {
            return 0;
        }
    }
    return i;
}

/*
 * Rewrite every number token outside strings into a tagged string ("\u0000#...")
 * so that jansson keeps its text. Also refuses \u0000 inside strings, which the
 * tag reserves. NULL with *error on a malformed number or a NUL escape.
 */
static const char *tag_numbers(apr_size_t *out_len, const char **error, apr_pool_t *p,
                               const char *s, apr_size_t n)
{
    apr_size_t i = 0, count = 0, k, len;
    char *out, *o;
    int in_string = 0;

    for (k = 0; k < n; k++) { /* an upper bound of the number tokens */
        if (((s[k] >= '0' && s[k] <= '9') || s[k] == '-')
            && (k == 0 || strchr("0123456789.eE+-", s[k - 1]) == NULL)) {
            count++;
        }
    }
    /* Each number gains the tag and a closing quote. */
    out = o = apr_palloc(p, n + count * (DUMPED_TAG_LEN + 1) + 1);
    while (i < n) {
        char c = s[i];
        if (in_string) {
            if (c == '\\' && i + 1 < n) {
                if (s[i + 1] == 'u' && i + 5 < n && !memcmp(s + i + 2, "0000", 4)) {
                    *error = "a string holds \\u0000, which is not allowed";
                    return NULL;
                }
                *o++ = c;
                *o++ = s[i + 1];
                i += 2;
                continue;
            }
            if (c == '"') {
                in_string = 0;
            }
            *o++ = c;
            i++;
        }
        else if (c == '"') {
            in_string = 1;
            *o++ = c;
            i++;
        }
        else if ((c >= '0' && c <= '9') || c == '-') {
            /* In JSON a number never follows these; the bound above counts on it. */
            if (i > 0 && strchr("0123456789.eE+-", s[i - 1])) {
                *error = "a number is malformed";
                return NULL;
            }
            len = number_length(s + i, n - i);
            if (!len) {
                *error = "a number is malformed";
                return NULL;
            }
            memcpy(o, DUMPED_TAG, DUMPED_TAG_LEN);
            o += DUMPED_TAG_LEN;
            memcpy(o, s + i, len);
            o += len;
            *o++ = '"';
            i += len;
        }
        else {
            *o++ = c;
            i++;
        }
    }
    *o = '\0';
    *out_len = (apr_size_t)(o - out);
    return out;
}

/* jansson's messages can quote input bytes: keep the client's detail valid UTF-8. */
static const char *printable(apr_pool_t *p, const char *text)
{
    char *s = apr_pstrdup(p, text), *c, *r, *w;

    /* A quoted number is a tagged one ("\u0000#12"): show the client its own text (12). */
    for (r = w = s; *r;) {
        if (!strncmp(r, DUMPED_TAG, DUMPED_TAG_LEN)) {
            for (r += DUMPED_TAG_LEN; *r && *r != '"';) {
                *w++ = *r++;
            }
            r += (*r == '"');
        }
        else {
            *w++ = *r++;
        }
    }
    *w = '\0';

    for (c = s; *c; c++) {
        if ((unsigned char)*c >= 0x80 || (unsigned char)*c < 0x20) {
            *c = '?';
        }
    }
    return s;
}

apr_status_t items_json_parse(json_t **value, const char **error, apr_pool_t *p,
                              const char *buf, apr_size_t len)
{
    json_error_t jerr;
    json_t *parsed;
    const char *tagged;
    apr_size_t tagged_len;

    *value = NULL;
    *error = NULL;
    if (len == 0) {
        *error = "the request body is empty";
        return ITEMS_EBADREQUEST;
    }
    if (memchr(buf, '\0', len)) {
        *error = "malformed JSON: the body holds a NUL byte";
        return ITEMS_EBADREQUEST;
    }
    tagged = tag_numbers(&tagged_len, error, p, buf, len);
    if (!tagged) {
        *error = apr_pstrcat(p, "malformed JSON: ", *error, NULL);
        return ITEMS_EBADREQUEST;
    }
    /* jansson's own depth limit (2048) bounds its recursion; ours is checked after. */
    parsed = json_loadb(tagged, tagged_len,
                        JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!parsed) {
        *error = apr_psprintf(p, "malformed JSON: %s", printable(p, jerr.text));
        return ITEMS_EBADREQUEST;
    }
    items_json_own(p, parsed);
    if (depth_exceeds(parsed, 1)) {
        *error = apr_psprintf(p, "JSON nested deeper than %d levels", ITEMS_JSON_MAX_DEPTH);
        return ITEMS_EBADREQUEST;
    }
    *value = parsed;
    return APR_SUCCESS;
}

apr_status_t items_json_parse_plain(json_t **value, apr_pool_t *p, const char *buf,
                                    apr_size_t len)
{
    json_error_t jerr;

    *value = items_json_own(p, json_loadb(buf, len, JSON_DECODE_ANY, &jerr));
    return *value ? APR_SUCCESS : ITEMS_EBADGATEWAY;
}

static int dump_append(const char *chunk, size_t n, void *data)
{
    items_json_buf_t *b = data;
    char *grown;

    if (b->len + n + 1 > b->cap) {
        apr_size_t cap = b->cap * 2;
        while (cap < b->len + n + 1) {
            cap *= 2;
        }
        grown = apr_palloc(b->pool, cap);
        memcpy(grown, b->data, b->len);
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, chunk, n);
    b->len += n;
    return 0;
}

void items_json_buf_init(items_json_buf_t *b, apr_pool_t *p, apr_size_t cap)
{
    b->pool = p;
    b->cap = cap ? cap : 256;
    b->len = 0;
    b->data = apr_palloc(p, b->cap);
    b->data[0] = '\0';
}

void items_json_buf_put(items_json_buf_t *b, const char *s, apr_size_t n)
{
    dump_append(s, n, b);
    b->data[b->len] = '\0';
}

/* --- serialization ------------------------------------------------------------ */

#define WRITE_MAX_DEPTH 256

static int put(items_json_buf_t *b, const char *s, apr_size_t n)
{
    return dump_append(s, n, b) == 0;
}

/* A string as jansson writes it (JSON_COMPACT, no JSON_ESCAPE_SLASH, UTF-8 kept). */
static void put_escaped(items_json_buf_t *b, const char *s, apr_size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    apr_size_t i, run = 0;

    put(b, "\"", 1);
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[6];
        apr_size_t k = 2;

        if (c >= 0x20 && c != '"' && c != '\\') {
            continue;
        }
        put(b, s + run, i - run);
        run = i + 1;
        esc[0] = '\\';
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 0xf];
            k = 6;
        }
        put(b, esc, k);
    }
    put(b, s + run, n - run);
    put(b, "\"", 1);
}

void items_json_buf_string(items_json_buf_t *b, const char *s, apr_size_t n)
{
    put_escaped(b, s, n);
    b->data[b->len] = '\0';
}

/*
 * Our own writer for what the module builds and serves: jansson's serializer
 * calls back once per token and tracks every container against cycles, which
 * made it a large part of a request. It writes exactly what jansson writes with
 * JSON_COMPACT, number texts unquoted. 0: a value it leaves to jansson (reals,
 * odd keys, deep nesting).
 */
static int write_value(items_json_buf_t *b, const json_t *v, int depth)
{
    char num[32];
    const char *key;
    apr_size_t key_len, i;
    json_t *member;
    int first = 1;

    if (depth > WRITE_MAX_DEPTH) {
        return 0;
    }
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        put(b, "{", 1);
        json_object_keylen_foreach((json_t *)v, key, key_len, member) {
            if (key_len >= NUMBER_TAG_LEN && !memcmp(key, NUMBER_TAG, NUMBER_TAG_LEN)) {
                return 0;
            }
            if (!first) {
                put(b, ",", 1);
            }
            first = 0;
            put_escaped(b, key, key_len);
            put(b, ":", 1);
            if (!write_value(b, member, depth + 1)) {
                return 0;
            }
        }
        return put(b, "}", 1);
    case JSON_ARRAY:
        put(b, "[", 1);
        for (i = 0; i < json_array_size(v); i++) {
            if (i) {
                put(b, ",", 1);
            }
            if (!write_value(b, json_array_get(v, i), depth + 1)) {
                return 0;
            }
        }
        return put(b, "]", 1);
    case JSON_STRING: {
        const char *s = json_string_value(v);
        apr_size_t n = json_string_length(v);
        if (n >= NUMBER_TAG_LEN && !memcmp(s, NUMBER_TAG, NUMBER_TAG_LEN)) {
            return put(b, s + NUMBER_TAG_LEN, n - NUMBER_TAG_LEN); /* a number's text */
        }
        put_escaped(b, s, n);
        return 1;
    }
    case JSON_INTEGER:
        return put(b, num, (apr_size_t)snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
                                                json_integer_value(v)));
    case JSON_TRUE:
        return put(b, "true", 4);
    case JSON_FALSE:
        return put(b, "false", 5);
    case JSON_NULL:
        return put(b, "null", 4);
    default:
        return 0; /* JSON_REAL: jansson's own formatting */
    }
}

static apr_status_t dump(const char **text, apr_size_t *len, apr_pool_t *p,
                         const json_t *value, size_t flags)
{
    items_json_buf_t b = { p, NULL, 0, 1024 };
    char *buf, *tag, *r, *w, *end;
    apr_size_t need;

    if (!value) {
        return APR_EGENERAL;
    }
    b.data = apr_palloc(p, b.cap);
    if (!(flags & JSON_SORT_KEYS) && write_value(&b, value, 0)) {
        b.data[b.len] = '\0';
        *text = b.data;
        *len = b.len;
        return APR_SUCCESS;
    }
    /* One pass: asking jansson for the size first would serialize everything twice. */
    b.len = 0;
    if (json_dump_callback(value, dump_append, &b, flags) != 0 || b.len == 0) {
        return APR_EGENERAL;
    }
    buf = b.data;
    need = b.len;
    buf[need] = '\0';
    /* Number texts: "\u0000#1.50" -> 1.50 (the text never holds a quote or backslash). */
    if ((tag = strstr(buf, DUMPED_TAG)) != NULL) {
        end = buf + need;
        w = tag;
        r = tag;
        while (r < end) {
            if (r + DUMPED_TAG_LEN <= end && !memcmp(r, DUMPED_TAG, DUMPED_TAG_LEN)) {
                r += DUMPED_TAG_LEN;
                while (r < end && *r != '"') {
                    *w++ = *r++;
                }
                r++;
            }
            else {
                *w++ = *r++;
            }
        }
        *w = '\0';
        need = (size_t)(w - buf);
    }
    *text = buf;
    *len = need;
    return APR_SUCCESS;
}

apr_status_t items_json_dump(const char **text, apr_size_t *len, apr_pool_t *p,
                             const json_t *value)
{
    return dump(text, len, p, value, JSON_COMPACT | JSON_ENCODE_ANY);
}

apr_status_t items_json_dump_sorted(const char **text, apr_size_t *len, apr_pool_t *p,
                                    const json_t *value)
{
    return dump(text, len, p, value, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
}
