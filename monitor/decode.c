// SPDX-License-Identifier: GPL-2.0
/*
 * Guest instruction decoding: a thin layer over Zydis (see decode.h).
 */
#include "decode.h"

static ZydisDecoder decoder, decoder16;
static int decoder_ready;

/*
 * Initialised on first use.  ZydisDecoderInit() cannot fail with these
 * arguments, and two vCPUs racing here would write the same bytes.
 */
static int decoder_init(void)
{
	if (decoder_ready)
		return 0;
	if (!ZYAN_SUCCESS(ZydisDecoderInit(&decoder,
					   ZYDIS_MACHINE_MODE_LEGACY_32,
					   ZYDIS_STACK_WIDTH_32)) ||
	    !ZYAN_SUCCESS(ZydisDecoderInit(&decoder16,
					   ZYDIS_MACHINE_MODE_LEGACY_16,
					   ZYDIS_STACK_WIDTH_16)))
		return DECODE_EINVAL;
	decoder_ready = 1;
	return 0;
}

int decode_insn(const uint8_t *bytes, size_t len, struct decoded_insn *out)
{
	return decode_insn_width(bytes, len, 32, out);
}

int decode_insn_width(const uint8_t *bytes, size_t len, unsigned int width,
		      struct decoded_insn *out)
{
	ZyanStatus status;

	if (decoder_init())
		return DECODE_EINVAL;
	if (len == 0)
		return DECODE_ETRUNC;
	status = ZydisDecoderDecodeFull(width == 16 ? &decoder16 : &decoder,
					bytes, len, &out->insn, out->ops);
	if (ZYAN_SUCCESS(status))
		return 0;
	return status == ZYDIS_STATUS_NO_MORE_DATA ? DECODE_ETRUNC
						   : DECODE_EINVAL;
}
