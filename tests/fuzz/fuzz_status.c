/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: metav1.Status decoding of arbitrary server bodies. */
#include <kx/client.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kx_status st;
	int code = size ? 100 + data[0] * 2 : 500;
	kx_status_decode((const char *)data, size, code, &st);
	/* Every field must be a terminated string within its array. */
	if (strnlen(st.reason, sizeof st.reason) == sizeof st.reason ||
	    strnlen(st.message, sizeof st.message) == sizeof st.message ||
	    strnlen(st.status, sizeof st.status) == sizeof st.status ||
	    strnlen(st.kind, sizeof st.kind) == sizeof st.kind ||
	    strnlen(st.name, sizeof st.name) == sizeof st.name)
		__builtin_trap();
	if (st.exit_code < -1 || st.exit_code > 255)
		__builtin_trap();
	return 0;
}
