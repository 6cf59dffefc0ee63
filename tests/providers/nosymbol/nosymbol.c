/*
 * nosymbol.c - a test-only shared object that exports a function but no
 * `aster_provider` descriptor: asterd must say which symbol is missing.
 */
#include <aster/provider.h>

__attribute__((visibility("default"))) int nosymbol_version(void);

int
nosymbol_version(void)
{
	return ASTER_PROVIDER_ABI;
}
