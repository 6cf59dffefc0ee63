/*
 * misnamed.c - a test-only provider whose descriptor names another
 * provider than its file does (misnamed.so calls itself "somethingelse").
 */
#include <aster/provider.h>

ASTER_PROVIDER_DEFINE = {
	.abi = ASTER_PROVIDER_ABI,
	.name = "somethingelse",
	.description = "Test provider: its name does not match its file",
};
