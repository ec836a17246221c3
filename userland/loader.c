// SPDX-License-Identifier: GPL-2.0
/*
 * Picking a loader: read the files, ask each loader whether the image is
 * its kind (multiboot first: a multiboot header may sit in any file), and
 * hand over.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loader.h"
#include "util.h"

/* Images larger than this are refused before being read. */
#define LOADER_MAX_FILE (1ULL << 30)

void loader__error(char *err, const char *name, const char *fmt, ...)
{
	int n = snprintf(err, LOADER_ERR_LEN, "%s: ", name);
	va_list ap;

	if (n < 0 || n >= LOADER_ERR_LEN)
		return;
	va_start(ap, fmt);
	vsnprintf(err + n, LOADER_ERR_LEN - n, fmt, ap);
	va_end(ap);
}

/* "2 MiB", "640 KiB" or "3000000 bytes": the plainest exact form. */
const char *loader__size_str(uint64_t bytes, char *buf, size_t len)
{
	if (bytes && !(bytes % GiB))
		snprintf(buf, len, "%llu GiB",
			 (unsigned long long)(bytes / GiB));
	else if (bytes && !(bytes % MiB))
		snprintf(buf, len, "%llu MiB",
			 (unsigned long long)(bytes / MiB));
	else if (bytes && !(bytes % KiB))
		snprintf(buf, len, "%llu KiB",
			 (unsigned long long)(bytes / KiB));
	else
		snprintf(buf, len, "%llu bytes", (unsigned long long)bytes);
	return buf;
}

int loader__read_file(const char *path, struct blob *blob, char *err)
{
	struct stat st;
	uint8_t *data;
	size_t done = 0;
	int fd;

	memset(blob, 0, sizeof(*blob));
	blob->name = path;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		loader__error(err, path, "cannot open: %s", strerror(errno));
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		loader__error(err, path, "not a regular file");
		goto out_close;
	}
	if (st.st_size == 0) {
		loader__error(err, path, "empty file");
		goto out_close;
	}
	if ((uint64_t)st.st_size > LOADER_MAX_FILE) {
		loader__error(err, path, "too large (%lld bytes)",
			      (long long)st.st_size);
		goto out_close;
	}
	data = malloc(st.st_size);
	if (!data) {
		loader__error(err, path, "out of memory reading the file");
		goto out_close;
	}
	while (done < (size_t)st.st_size) {
		ssize_t n = read(fd, data + done, st.st_size - done);

		if (n <= 0) {
			loader__error(err, path, "read error: %s",
				      n ? strerror(errno) : "file shrank");
			free(data);
			goto out_close;
		}
		done += n;
	}
	close(fd);
	blob->data = data;
	blob->size = done;
	return 0;

out_close:
	if (fd >= 0)
		close(fd);
	return -1;
}

void loader__free(struct blob *blob)
{
	free((void *)blob->data);
	blob->data = NULL;
}

int loader__load(struct guest_ram *ram, const struct boot_args *args,
		 struct boot_cpu *cpu, char *err)
{
	struct blob kernel, initrd = { 0 };
	int ret = -1;

	if (loader__read_file(args->kernel, &kernel, err))
		return -1;
	if (args->initrd && loader__read_file(args->initrd, &initrd, err))
		goto out_kernel;

	if (multiboot__probe(&kernel))
		ret = multiboot__load(ram, &kernel,
				      args->initrd ? &initrd : NULL,
				      args->append, cpu, err);
	else if (linux__probe(&kernel))
		ret = linux__load(ram, &kernel, args->initrd ? &initrd : NULL,
				  args->append, cpu, err);
	else
		loader__error(
			err, kernel.name,
			"not a multiboot kernel (no multiboot header in the first 8 KiB) and not a Linux bzImage");

	loader__free(&initrd);
out_kernel:
	loader__free(&kernel);
	return ret;
}
