/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one jansson user. Values handed out here are owned by a pool: a cleanup
 * drops the reference, so error paths need no manual json_decref().
 *
 * Numbers from clients keep their exact decimal text (jansson would round them
 * to doubles): items_json_parse() turns each into a "number text" value, which
 * items_json_dump() writes back verbatim and the DynamoDB marshaller stores as
 * an N. Internally such a value is a string that starts with a NUL byte, which
 * no parsed string can hold.
 */
#ifndef ITEMS_JSON_H
#define ITEMS_JSON_H

#include <apr_pools.h>
#include <jansson.h>

/* Deepest nesting accepted in any JSON document we parse (DynamoDB allows 32). */
#define ITEMS_JSON_MAX_DEPTH 32

/* Take ownership of a new reference: it is released when p is cleared. */
json_t *items_json_own(apr_pool_t *p, json_t *value);

/*
 * Parse len bytes of buf (which need not be NUL-terminated) as one JSON value,
 * numbers kept as text. Rejects duplicate object keys, NUL bytes (raw or
 * \u0000), invalid UTF-8 and nesting deeper than ITEMS_JSON_MAX_DEPTH. On
 * failure *error says why, in words fit for a client (always valid UTF-8).
 */
apr_status_t items_json_parse(json_t **value, const char **error, apr_pool_t *p,
                              const char *buf, apr_size_t len);

/* Parse a document from a trusted peer (DynamoDB): numbers as jansson parses them. */
apr_status_t items_json_parse_plain(json_t **value, apr_pool_t *p, const char *buf,
                                    apr_size_t len);

/* Whether s[0..n) is exactly a JSON number (RFC 8259): what a number text must be. */
int items_json_is_number(const char *s, apr_size_t n);

/* A new number-text value for text (already a valid JSON number). */
json_t *items_json_number(const char *text);

/* The text of a number-text value, NULL when v is not one. */
const char *items_json_number_text(const json_t *v);

/* Serialize value compactly into pool memory; number texts are written verbatim. */
apr_status_t items_json_dump(const char **text, apr_size_t *len, apr_pool_t *p,
                             const json_t *value);

/* A growing buffer of JSON text in pool memory, for writers of their own (items_ddb.c). */
typedef struct items_json_buf {
    apr_pool_t *pool;
    char *data;   /* NUL-terminated after every write */
    apr_size_t len, cap;
} items_json_buf_t;

void items_json_buf_init(items_json_buf_t *b, apr_pool_t *p, apr_size_t cap);
void items_json_buf_put(items_json_buf_t *b, const char *s, apr_size_t n);
/* s[0..n) as a JSON string, escaped as items_json_dump() escapes it. */
void items_json_buf_string(items_json_buf_t *b, const char *s, apr_size_t n);

/* The same with object keys sorted: a canonical form for hashing. */
apr_status_t items_json_dump_sorted(const char **text, apr_size_t *len, apr_pool_t *p,
                                    const json_t *value);

#endif
