/* Snapshots; see snapshot.h. */
#include "snapshot.h"

#include <errno.h>
#include <libavcodec/avcodec.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SNAPSHOT_QUALITY 4     /* JPEG quantiser scale: 2 best .. 31 worst */

/* Fill a rectangle of one plane with a value (clipped to the plane). */
static void snapshot_fill(uint8_t *plane, int stride, int pw, int ph, int x0, int y0,
			  int x1, int y1, uint8_t v)
{
	if (x0 < 0)
		x0 = 0;
	if (y0 < 0)
		y0 = 0;
	if (x1 > pw)
		x1 = pw;
	if (y1 > ph)
		y1 = ph;
	for (int y = y0; y < y1; y++)
		for (int x = x0; x < x1; x++)
			plane[(size_t)y * (size_t)stride + (size_t)x] = v;
}

/* Outline one box in red: luma and both chroma planes, even-aligned so
 * the 4:2:0 chroma lines up. */
static void snapshot_box(AVFrame *f, const struct vigil_box *b)
{
	static const uint8_t yuv[3] = { 82, 90, 240 };
	int t = f->height >= 720 ? 4 : 2;
	int x0 = (int)(b->x * (float)f->width) & ~1, y0 = (int)(b->y * (float)f->height) & ~1;
	int x1 = ((int)((b->x + b->w) * (float)f->width) + 1) & ~1;
	int y1 = ((int)((b->y + b->h) * (float)f->height) + 1) & ~1;
	int edges[4][4] = {
		{ x0, y0, x1, y0 + t }, { x0, y1 - t, x1, y1 },
		{ x0, y0, x0 + t, y1 }, { x1 - t, y0, x1, y1 },
	};

	for (int e = 0; e < 4; e++) {
		for (int p = 0; p < 3; p++) {
			int s = p ? 1 : 0;
			snapshot_fill(f->data[p], f->linesize[p], f->width >> s, f->height >> s,
				      edges[e][0] >> s, edges[e][1] >> s, edges[e][2] >> s,
				      edges[e][3] >> s, yuv[p]);
		}
	}
}

/* One JPEG packet of a 4:2:0 frame. */
static int snapshot_encode(AVFrame *f, AVPacket *pkt)
{
	const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
	AVCodecContext *enc;
	int r;

	if (!codec)
		return AVERROR_ENCODER_NOT_FOUND;
	enc = avcodec_alloc_context3(codec);
	if (!enc)
		return AVERROR(ENOMEM);
	enc->width = f->width;
	enc->height = f->height;
	/* Same layout as yuv420p; JPEG's native (full range) flavour. */
	enc->pix_fmt = AV_PIX_FMT_YUVJ420P;
	enc->time_base = (AVRational){ 1, 25 };
	enc->flags |= AV_CODEC_FLAG_QSCALE;
	enc->global_quality = FF_QP2LAMBDA * SNAPSHOT_QUALITY;
	enc->thread_count = 1;
	r = avcodec_open2(enc, codec, NULL);
	if (r >= 0) {
		f->format = AV_PIX_FMT_YUVJ420P;
		f->quality = enc->global_quality;
		f->pict_type = AV_PICTURE_TYPE_NONE;
		r = avcodec_send_frame(enc, f);
	}
	if (r >= 0)
		r = avcodec_receive_packet(enc, pkt);
	avcodec_free_context(&enc);
	return r;
}

int64_t snapshot_write(const char *path, const AVFrame *frame,
		       const struct vigil_box *boxes, int nboxes)
{
	AVFrame *f = NULL;
	AVPacket *pkt = av_packet_alloc();
	char tmp[4200];
	FILE *out;
	int64_t r;

	if (frame->format != AV_PIX_FMT_YUV420P && frame->format != AV_PIX_FMT_YUVJ420P) {
		r = AVERROR(ENOTSUP);
		goto out;
	}
	f = av_frame_clone(frame);
	if (!f || !pkt) {
		r = AVERROR(ENOMEM);
		goto out;
	}
	/* The decoder may still reference these pixels: draw on a copy. */
	r = av_frame_make_writable(f);
	if (r < 0)
		goto out;
	for (int i = 0; i < nboxes; i++)
		snapshot_box(f, &boxes[i]);
	r = snapshot_encode(f, pkt);
	if (r < 0)
		goto out;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	out = fopen(tmp, "wb");
	if (!out) {
		r = AVERROR(errno);
		goto out;
	}
	if (fwrite(pkt->data, 1, (size_t)pkt->size, out) != (size_t)pkt->size) {
		r = AVERROR(ferror(out) && errno ? errno : EIO);
		fclose(out);
		unlink(tmp);
		goto out;
	}
	if (fclose(out) != 0) {
		r = AVERROR(errno);
		unlink(tmp);
		goto out;
	}
	if (rename(tmp, path) < 0) {
		r = AVERROR(errno);
		unlink(tmp);
		goto out;
	}
	r = pkt->size;
out:
	av_frame_free(&f);
	av_packet_free(&pkt);
	return r;
}

/* Area average of a w x h plane into an ow x oh one (ow <= w, oh <= h). */
static void snapshot_shrink(const uint8_t *src, int stride, int w, int h,
			    uint8_t *dst, int dstride, int ow, int oh)
{
	for (int oy = 0; oy < oh; oy++) {
		int y0 = (int)((int64_t)oy * h / oh), y1 = (int)((int64_t)(oy + 1) * h / oh);
		if (y1 <= y0)
			y1 = y0 + 1;
		for (int ox = 0; ox < ow; ox++) {
			int x0 = (int)((int64_t)ox * w / ow), x1 = (int)((int64_t)(ox + 1) * w / ow);
			unsigned sum = 0, n;
			if (x1 <= x0)
				x1 = x0 + 1;
			for (int y = y0; y < y1; y++) {
				const uint8_t *row = src + (size_t)y * (size_t)stride;
				for (int x = x0; x < x1; x++)
					sum += row[x];
			}
			n = (unsigned)((x1 - x0) * (y1 - y0));
			dst[(size_t)oy * (size_t)dstride + (size_t)ox] = (uint8_t)((sum + n / 2) / n);
		}
	}
}

int snapshot_thumbnail(const AVFrame *frame, int width, const struct vigil_box *boxes,
		       int nboxes, uint8_t **jpeg, size_t *size)
{
	AVFrame *f = NULL;
	AVPacket *pkt = NULL;
	int ow, oh, r;

	*jpeg = NULL;
	*size = 0;
	if ((frame->format != AV_PIX_FMT_YUV420P && frame->format != AV_PIX_FMT_YUVJ420P) ||
	    frame->width < 2 || frame->height < 2 || width < 2)
		return AVERROR(ENOTSUP);
	/* Never larger than the picture; even sizes for 4:2:0. */
	ow = (width < frame->width ? width : frame->width) & ~1;
	oh = (int)((int64_t)ow * frame->height / frame->width) & ~1;
	if (oh < 2)
		oh = 2;
	f = av_frame_alloc();
	pkt = av_packet_alloc();
	if (!f || !pkt) {
		r = AVERROR(ENOMEM);
		goto out;
	}
	f->format = AV_PIX_FMT_YUVJ420P;
	f->width = ow;
	f->height = oh;
	r = av_frame_get_buffer(f, 0);
	if (r < 0)
		goto out;
	for (int p = 0; p < 3; p++) {
		int s = p ? 1 : 0;
		snapshot_shrink(frame->data[p], frame->linesize[p], frame->width >> s,
				frame->height >> s, f->data[p], f->linesize[p], ow >> s, oh >> s);
	}
	for (int i = 0; i < nboxes; i++)
		snapshot_box(f, &boxes[i]);
	r = snapshot_encode(f, pkt);
	if (r < 0)
		goto out;
	*jpeg = malloc((size_t)pkt->size);
	if (!*jpeg) {
		r = AVERROR(ENOMEM);
		goto out;
	}
	memcpy(*jpeg, pkt->data, (size_t)pkt->size);
	*size = (size_t)pkt->size;
	r = 0;
out:
	av_frame_free(&f);
	av_packet_free(&pkt);
	return r;
}
