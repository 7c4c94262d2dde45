/*
 * stub_call: one exported function, one TCP connection to the Go server at
 * $HNSLB_STUB_ADDR (host:port). The protocol (../doc.go) is a header line
 * and raw UTF-8 strings, so this side needs no JSON:
 *
 *   request   <fn> <guid|-> <handle> <len0> <len1> <len2>\n<str0><str1><str2>
 *   answer    <hresult hex> <handle> <outlen> <resultlen>\n<out><result>
 *
 * A length of -1 is a NULL string. The server closes the connection after
 * its answer.
 */
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <objbase.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hnsstub.h"

#define ADDR_ENV "HNSLB_STUB_ADDR"
#define IO_TIMEOUT_MS 120000       /* a call never takes this long; fail rather than hang */
#define MAX_ANSWER (256u << 20)

/* The HRESULTs of failures on this side. The first is what hcn sees when
 * the HNS service is not running. */
#define E_STUB_UNAVAILABLE ((HRESULT)0x800706BA) /* RPC_S_SERVER_UNAVAILABLE */
#define E_STUB_BAD_ANSWER ((HRESULT)0x8007000D)  /* ERROR_INVALID_DATA */

typedef struct {
	char *p;
	size_t len, cap;
} buf;

static BOOL buf_add(buf *b, const void *data, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *p;
		while (cap < b->len + n + 1)
			cap *= 2;
		if (!(p = realloc(b->p, cap)))
			return FALSE;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = 0;
	return TRUE;
}

/* cotask_wide returns s[0:n] (UTF-8) as a UTF-16 string allocated with
 * CoTaskMemAlloc, which is how HNS hands out strings (hcn frees them with
 * CoTaskMemFree), or NULL if out of memory. */
static PWSTR cotask_wide(const char *s, int n)
{
	int len = n > 0 ? MultiByteToWideChar(CP_UTF8, 0, s, n, NULL, 0) : 0;
	PWSTR w;
	if (n > 0 && len <= 0)
		return NULL;
	if (!(w = CoTaskMemAlloc((SIZE_T)(len + 1) * sizeof(WCHAR))))
		return NULL;
	if (len > 0)
		MultiByteToWideChar(CP_UTF8, 0, s, n, w, len);
	w[len] = 0;
	return w;
}

/* fail returns hr, with an error record in HNS's format saying why in
 * *result if the function has one. */
static HRESULT fail(const stub_call_args *a, HRESULT hr, const char *why, long detail)
{
	char rec[512];
	if (a->result) {
		snprintf(rec, sizeof rec,
			 "{\"Success\":false,\"Error\":\"hnsstub: %s: %s (%ld) \",\"ErrorCode\":%lu}",
			 a->fn, why, detail, (unsigned long)hr);
		*a->result = cotask_wide(rec, (int)strlen(rec));
	}
	return hr;
}

/* dial connects to the server; it returns INVALID_SOCKET with *why set. */
static SOCKET dial(const char **why, long *detail)
{
	char addr[256], *colon;
	struct addrinfo hints = {0}, *ai = NULL, *p;
	DWORD timeout = IO_TIMEOUT_MS;
	SOCKET s = INVALID_SOCKET;
	DWORD n = GetEnvironmentVariableA(ADDR_ENV, addr, sizeof addr);
	int err;

	*detail = 0;
	if (n == 0 || n >= sizeof addr || !(colon = strrchr(addr, ':'))) {
		*why = ADDR_ENV " is not set to host:port: no stand-in HNS server to call";
		return INVALID_SOCKET;
	}
	*colon = 0;
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((err = getaddrinfo(addr, colon + 1, &hints, &ai)) != 0) {
		*why = "cannot resolve " ADDR_ENV;
		*detail = err;
		return INVALID_SOCKET;
	}
	*why = "cannot connect to the stand-in HNS server at " ADDR_ENV;
	for (p = ai; p; p = p->ai_next) {
		s = socket(p->ai_family, p->ai_socktype, p->ai_protocol);
		if (s == INVALID_SOCKET)
			continue;
		setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, (const char *)&timeout, sizeof timeout);
		setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, (const char *)&timeout, sizeof timeout);
		if (connect(s, p->ai_addr, (int)p->ai_addrlen) == 0)
			break;
		*detail = WSAGetLastError();
		closesocket(s);
		s = INVALID_SOCKET;
	}
	freeaddrinfo(ai);
	return s;
}

static BOOL send_all(SOCKET s, const char *p, size_t n)
{
	while (n > 0) {
		int k = send(s, p, n > 0x10000000 ? 0x10000000 : (int)n, 0);
		if (k <= 0)
			return FALSE;
		p += k;
		n -= (size_t)k;
	}
	return TRUE;
}

/* request builds the request of a into b. */
static BOOL request(const stub_call_args *a, buf *b)
{
	char head[256], id[40] = "-";
	char *str[3] = {NULL, NULL, NULL};
	int len[3] = {-1, -1, -1}, i;
	BOOL ok = TRUE;

	if (a->id) {
		const GUID *g = a->id;
		snprintf(id, sizeof id, "%08lX-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X",
			 (unsigned long)g->Data1, g->Data2, g->Data3, g->Data4[0], g->Data4[1],
			 g->Data4[2], g->Data4[3], g->Data4[4], g->Data4[5], g->Data4[6], g->Data4[7]);
	}
	for (i = 0; i < 3 && ok; i++) {
		int size;
		if (!a->str[i])
			continue;
		size = WideCharToMultiByte(CP_UTF8, 0, a->str[i], -1, NULL, 0, NULL, NULL);
		ok = size > 0 && (str[i] = malloc((size_t)size)) != NULL &&
		     WideCharToMultiByte(CP_UTF8, 0, a->str[i], -1, str[i], size, NULL, NULL) == size;
		len[i] = size - 1;
	}
	if (ok) {
		snprintf(head, sizeof head, "%s %s %llu %d %d %d\n", a->fn, id,
			 (unsigned long long)(ULONG_PTR)a->handle, len[0], len[1], len[2]);
		ok = buf_add(b, head, strlen(head));
	}
	for (i = 0; i < 3; i++) {
		if (ok && str[i])
			ok = buf_add(b, str[i], (size_t)len[i]);
		free(str[i]);
	}
	return ok;
}

/* answer hands the server's answer in b to the caller. */
static HRESULT answer(const stub_call_args *a, buf *b)
{
	unsigned long hr;
	unsigned long long handle;
	int outlen, reslen, headlen;
	char *nl = b->p ? memchr(b->p, '\n', b->len) : NULL;

	if (!nl || sscanf(b->p, "%lx %llu %d %d", &hr, &handle, &outlen, &reslen) != 4)
		return fail(a, E_STUB_BAD_ANSWER, "malformed answer from the server", (long)b->len);
	headlen = (int)(nl - b->p) + 1;
	if (outlen < -1 || reslen < -1 ||
	    (size_t)headlen + (size_t)(outlen > 0 ? outlen : 0) + (size_t)(reslen > 0 ? reslen : 0) != b->len)
		return fail(a, E_STUB_BAD_ANSWER, "answer lengths do not add up", (long)b->len);
	if (a->out && outlen >= 0 && !(*a->out = cotask_wide(b->p + headlen, outlen)))
		return E_OUTOFMEMORY;
	if (a->result && reslen >= 0 &&
	    !(*a->result = cotask_wide(b->p + headlen + (outlen > 0 ? outlen : 0), reslen))) {
		if (a->out) {
			CoTaskMemFree(*a->out);
			*a->out = NULL;
		}
		return E_OUTOFMEMORY;
	}
	if (a->handle_out)
		*a->handle_out = (HANDLE)(ULONG_PTR)handle;
	return (HRESULT)hr;
}

/* exchange sends a's request and returns the server's answer. */
static HRESULT exchange(const stub_call_args *a)
{
	const char *why;
	long detail;
	buf req = {0}, ans = {0};
	char chunk[16384];
	HRESULT hr;
	int k;
	SOCKET s = dial(&why, &detail);

	if (s == INVALID_SOCKET)
		return fail(a, E_STUB_UNAVAILABLE, why, detail);
	if (!request(a, &req)) {
		hr = fail(a, E_OUTOFMEMORY, "out of memory building the request", 0);
	} else if (!send_all(s, req.p, req.len)) {
		hr = fail(a, E_STUB_UNAVAILABLE, "sending the request failed", WSAGetLastError());
	} else {
		shutdown(s, SD_SEND);
		while ((k = recv(s, chunk, sizeof chunk, 0)) > 0 && ans.len <= MAX_ANSWER)
			if (!buf_add(&ans, chunk, (size_t)k))
				break;
		if (k < 0)
			hr = fail(a, E_STUB_UNAVAILABLE, "reading the answer failed", WSAGetLastError());
		else if (k > 0)
			hr = fail(a, E_STUB_BAD_ANSWER, "answer too long or out of memory", (long)ans.len);
		else
			hr = answer(a, &ans);
	}
	closesocket(s);
	free(req.p);
	free(ans.p);
	return hr;
}

/* Winsock is started once per process and never cleaned up: with a
 * WSAStartup/WSACleanup pair per call, calls made at once (the Reconciler
 * makes up to Options.Concurrency) were seen under Wine to bring the
 * process's count to zero, which closes every socket of the process, the
 * Go test's server included (WSANOTINITIALISED, 10093). */
static INIT_ONCE wsa_once = INIT_ONCE_STATIC_INIT;
static int wsa_err;

static BOOL CALLBACK wsa_start(PINIT_ONCE once, PVOID param, PVOID *ctx)
{
	WSADATA wsa;

	(void)once, (void)param, (void)ctx;
	wsa_err = WSAStartup(MAKEWORD(2, 2), &wsa);
	return TRUE;
}

HRESULT stub_call(const stub_call_args *a)
{
	if (a->handle_out)
		*a->handle_out = NULL;
	if (a->out)
		*a->out = NULL;
	if (a->result)
		*a->result = NULL;
	InitOnceExecuteOnce(&wsa_once, wsa_start, NULL, NULL);
	if (wsa_err != 0)
		return fail(a, E_STUB_UNAVAILABLE, "WSAStartup failed", wsa_err);
	return exchange(a);
}
