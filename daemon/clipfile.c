/* Stream-copy fragmented MP4 clips; see clipfile.h. */
#include "clipfile.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int clipfile_open(struct clipfile *f, const char *path, const AVCodecParameters *par,
		  AVRational tb)
{
	AVDictionary *opts = NULL;
	AVStream *st;
	int r;

	memset(f, 0, sizeof(*f));
	f->first_dts = AV_NOPTS_VALUE;
	f->last_in_dts = AV_NOPTS_VALUE;
	f->last_out_dts = AV_NOPTS_VALUE;
	f->in_tb = tb;
	snprintf(f->path, sizeof(f->path), "%s", path);
	r = avformat_alloc_output_context2(&f->oc, NULL, "mp4", path);
	if (r < 0)
		return r;
	st = avformat_new_stream(f->oc, NULL);
	if (!st)
		goto fail_nomem;
	r = avcodec_parameters_copy(st->codecpar, par);
	if (r < 0)
		goto fail;
	st->codecpar->codec_tag = 0;
	st->time_base = tb;
	r = avio_open(&f->oc->pb, path, AVIO_FLAG_WRITE);
	if (r < 0)
		goto fail;
	/* Playable after a crash up to the last fragment: see the head of
	 * clipfile.h. delay_moov waits for in-band parameter sets when the
	 * source had none out of band. */
	av_dict_set(&opts, "movflags", "frag_keyframe+empty_moov+delay_moov+default_base_moof", 0);
	av_dict_set(&opts, "frag_duration", "1000000", 0);
	av_dict_set(&opts, "flush_packets", "1", 0);
	r = avformat_write_header(f->oc, &opts);
	av_dict_free(&opts);
	if (r < 0)
		goto fail;
	f->good_bytes = avio_tell(f->oc->pb);
	return 0;
fail_nomem:
	r = AVERROR(ENOMEM);
fail:
	clipfile_close(f);
	return r;
}

/* Input timestamps relative to the clip's first DTS, never going back. */
static void clipfile_rebase(struct clipfile *f, AVPacket *pkt)
{
	int64_t dts = pkt->dts != AV_NOPTS_VALUE ? pkt->dts : pkt->pts;
	int64_t pts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : dts;
	int64_t step = pkt->duration > 0 ? pkt->duration : 1;

	if (dts == AV_NOPTS_VALUE) {
		/* No time at all: one step after the previous packet. */
		dts = f->last_in_dts == AV_NOPTS_VALUE ? 0 : f->last_in_dts + step;
		pts = dts;
	} else {
		if (f->first_dts == AV_NOPTS_VALUE)
			f->first_dts = dts;
		pts += f->offset - f->first_dts;
		dts += f->offset - f->first_dts;
	}
	if (f->last_in_dts != AV_NOPTS_VALUE && dts <= f->last_in_dts) {
		int64_t shift = f->last_in_dts + step - dts;
		f->offset += shift;
		dts += shift;
		pts += shift;
	}
	if (pts < dts)
		pts = dts;
	f->last_in_dts = dts;
	pkt->dts = dts;
	pkt->pts = pts;
}

int clipfile_write(struct clipfile *f, AVPacket *pkt)
{
	AVStream *st;
	int64_t end;
	int r;

	if (!f->oc || !f->oc->pb || f->broken)
		return AVERROR(EBADF);
	st = f->oc->streams[0];
	clipfile_rebase(f, pkt);
	av_packet_rescale_ts(pkt, f->in_tb, st->time_base);
	if (f->last_out_dts != AV_NOPTS_VALUE && pkt->dts <= f->last_out_dts) {
		/* Rounding of the time base made two DTS equal. */
		pkt->dts = f->last_out_dts + 1;
		if (pkt->pts < pkt->dts)
			pkt->pts = pkt->dts;
	}
	f->last_out_dts = pkt->dts;
	end = pkt->pts + (pkt->duration > 0 ? pkt->duration : 0);
	if (end > f->end_pts)
		f->end_pts = end;
	pkt->stream_index = 0;
	pkt->pos = -1;
	f->packets++;
	/* The muxer keeps the fragment being built in memory and writes it
	 * whole (flushing after every packet): after a successful write the
	 * file ends at a fragment boundary. */
	r = av_write_frame(f->oc, pkt);
	if (r < 0)
		f->broken = 1;
	else
		f->good_bytes = avio_tell(f->oc->pb);
	return r;
}

int clipfile_close(struct clipfile *f)
{
	int r = 0;

	if (!f || !f->oc)
		return 0;
	if (f->oc->pb) {
		if (f->packets > 0 && !f->broken)
			r = av_write_trailer(f->oc);
		if (r == 0 && f->oc->pb->error < 0)
			r = f->oc->pb->error;
		avio_closep(&f->oc->pb);
		if (f->broken && truncate(f->path, f->good_bytes) < 0 && r == 0)
			r = AVERROR(errno);
	}
	avformat_free_context(f->oc);
	f->oc = NULL;
	return r;
}

int64_t clipfile_size(const struct clipfile *f)
{
	if (!f->oc || !f->oc->pb)
		return 0;
	return avio_tell(f->oc->pb);
}

double clipfile_duration(const struct clipfile *f)
{
	if (!f->oc || f->packets == 0)
		return 0.0;
	return (double)f->end_pts * av_q2d(f->oc->streams[0]->time_base);
}
