/* libFuzzer target: the configuration checker on arbitrary files.
 * Whatever the bytes, config_load() must return a count, print only
 * FILE:LINE lines and leave nothing allocated after config_free(). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	static FILE *sink;
	struct vigil_config cfg;
	FILE *f;

	if (!path[0]) {
		snprintf(path, sizeof(path), "/tmp/vigil-config-fuzz-%d.conf", (int)getpid());
		sink = fopen("/dev/null", "w");
	}
	f = fopen(path, "wb");
	if (!f)
		return 0;
	fwrite(data, 1, size, f);
	fclose(f);
	config_load(path, &cfg, sink);
	for (size_t i = 0; i < cfg.ncameras; i++) {
		char buf[256];
		if (cfg.cameras[i].detect_url)
			log_redact_url(cfg.cameras[i].detect_url, buf, sizeof(buf));
		config_analysis_mode(&cfg.cameras[i]);
	}
	config_free(&cfg);
	return 0;
}
