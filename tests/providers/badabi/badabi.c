/*
 * badabi.c - a test-only provider built for the next ABI version, which
 * asterd must refuse with a message naming the file and both versions.
 */
#include <aster/provider.h>

ASTER_PROVIDER_DEFINE = {
	.abi = ASTER_PROVIDER_ABI + 1,
	.name = "badabi",
	.description = "Test provider: declares a future ABI",
};
