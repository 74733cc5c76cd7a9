/* SPDX-License-Identifier: Apache-2.0 */
/* What reach.c (the view and its static checks) and probe.c (its probes) share. */
#ifndef KX_REACH_INTERNAL_H
#define KX_REACH_INTERNAL_H

#include <kx/json.h>
#include <stdarg.h>

/* Add "status" and the formatted "message" to obj (a finding or a route's check). */
void kx__reach_result(cJSON *obj, const char *status, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

#endif
