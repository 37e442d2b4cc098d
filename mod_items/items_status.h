/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_items' own apr_status_t codes. Foreign errors (CURLcode, DynamoDB __type,
 * parse failures) are translated into these once, where they arise; the handler
 * maps each to one HTTP status in a single table.
 */
#ifndef ITEMS_STATUS_H
#define ITEMS_STATUS_H

#include <apr_errno.h>

#define ITEMS_STATUS_BASE (APR_OS_START_USERERR + 7300)

#define ITEMS_EBADREQUEST    (ITEMS_STATUS_BASE + 1)  /* malformed JSON, bad query, bad id */
#define ITEMS_EINVALID       (ITEMS_STATUS_BASE + 2)  /* well-formed but semantically invalid item */
#define ITEMS_ENOTFOUND      (ITEMS_STATUS_BASE + 3)  /* no such item */
#define ITEMS_ECONFLICT      (ITEMS_STATUS_BASE + 4)  /* a condition on the write failed */
#define ITEMS_ETOOLARGE      (ITEMS_STATUS_BASE + 5)  /* body over the configured cap */
#define ITEMS_EBADGATEWAY    (ITEMS_STATUS_BASE + 6)  /* DynamoDB answered garbage or an error */
#define ITEMS_EUNAVAILABLE   (ITEMS_STATUS_BASE + 7)  /* DynamoDB unreachable or throttling */
#define ITEMS_ETIMEOUT       (ITEMS_STATUS_BASE + 8)  /* DynamoDB did not answer in time */
#define ITEMS_ENOCREDS       (ITEMS_STATUS_BASE + 9)  /* no AWS credentials configured */
#define ITEMS_EBACKENDCONFIG (ITEMS_STATUS_BASE + 10) /* table missing, access denied, bad keys */

#endif
