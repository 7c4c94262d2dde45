/*
 * bcryptprimitives.dll stand-in for Wine 8.0, which lacks ProcessPrng.
 *
 * Go >= 1.22 gets its random bytes on Windows from
 * bcryptprimitives.dll!ProcessPrng and aborts at start-up without it. This
 * one-function DLL forwards to advapi32!SystemFunction036 (RtlGenRandom),
 * which Wine has. It belongs in the Wine prefix's
 * drive_c/windows/system32/: Go loads it from the system directory only.
 *
 * Built by .ci/wine-setup.sh with gcc-mingw-w64-x86-64-win32.
 */
#include <windows.h>

/* advapi32's RtlGenRandom; declared here to avoid ntsecapi.h. */
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

/* ProcessPrng fills data with size random bytes. Like the real one, it
 * returns TRUE; it returns FALSE only if Wine's generator fails. */
BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T size)
{
	while (size > 0) {
		ULONG chunk = size > 0x10000000 ? 0x10000000 : (ULONG)size;
		if (!SystemFunction036(data, chunk))
			return FALSE;
		data += chunk;
		size -= chunk;
	}
	return TRUE;
}
