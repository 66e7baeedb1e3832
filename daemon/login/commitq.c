/* SPDX-License-Identifier: BSD-3-Clause */
/* The group-commit writer thread (commitq.h). */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/thread.h"
#include "err.h"
#include "fileio.h"
#include "log.h"
#include "login/commitq.h"

/* Records are copied into one buffer of this size and written with as few
 * write(2) calls as that allows. */
#define COMMITQ_CHUNK 65536

/* A list kept in order: head, and where the next item goes. */
struct list {
	struct commitq_item *head;
	struct commitq_item **tail;
};

struct commitq {
	pthread_mutex_t mu;
	pthread_cond_t cv; /* queued, resumed or stopping */
	pthread_t th;
	int started;
	int evfd;
	/* Under mu: */
	int fd;             /* the file appended to */
	struct list queued; /* not yet taken by the writer */
	struct list done;   /* written, rc set */
	uint64_t batches;   /* in done, not yet reported */
	int busy;           /* the writer is writing a batch */
	int held;           /* take no batch (paused, or after a failure) */
	int stop;
	char *buf; /* the writer's */
};

static void list_init(struct list *l)
{
	l->head = NULL;
	l->tail = &l->head;
}

static void list_append(struct list *l, struct commitq_item *first)
{
	*l->tail = first;
	while (*l->tail != NULL)
		l->tail = &(*l->tail)->next;
}

static struct commitq_item *list_take(struct list *l)
{
	struct commitq_item *first = l->head;

	list_init(l);
	return first;
}

/* The writer's next batch, taken off the non-empty queue: the records up
 * to the first rewrite, or that rewrite alone. */
static struct commitq_item *take_batch(struct list *l)
{
	struct commitq_item *first = l->head, **cut = &first->next;

	if (first->replace == NULL)
		while (*cut != NULL && (*cut)->replace == NULL)
			cut = &(*cut)->next;
	l->head = *cut;
	*cut = NULL;
	if (l->head == NULL)
		l->tail = &l->head;
	return first;
}

/* Write the batch and make it durable: 0, or PG_ERR_IO with *err. */
static int write_batch(struct commitq *q, int fd, const struct commitq_item *it,
                       int *err)
{
	size_t len = 0;

	for (; it != NULL; it = it->next) {
		if (len + it->len > COMMITQ_CHUNK && len > 0) {
			if (fileio_write_all(fd, q->buf, len) != 0)
				goto fail;
			len = 0;
		}
		if (it->len > COMMITQ_CHUNK) {
			if (fileio_write_all(fd, it->rec, it->len) != 0)
				goto fail;
			continue;
		}
		memcpy(q->buf + len, it->rec, it->len);
		len += it->len;
	}
	if ((len > 0 && fileio_write_all(fd, q->buf, len) != 0) ||
	    fdatasync(fd) != 0)
		goto fail;
	return 0;
fail:
	*err = errno;
	return PG_ERR_IO;
}

static void *writer(void *arg)
{
	struct commitq *q = arg;
	struct commitq_item *batch, *it;
	uint64_t one = 1;
	int fd, newfd = -1, rc, err = 0;

	pthread_setname_np(pthread_self(), "pg-statelog");
	pthread_mutex_lock(&q->mu);
	for (;;) {
		while (!q->stop && (q->queued.head == NULL || q->held))
			pthread_cond_wait(&q->cv, &q->mu);
		if (q->queued.head == NULL || q->held)
			break; /* stopping, and nothing we may write */
		batch = take_batch(&q->queued);
		fd = q->fd;
		q->busy = 1;
		pthread_mutex_unlock(&q->mu);

		if (batch->replace != NULL)
			rc = batch->replace(batch, &newfd, &err);
		else
			rc = write_batch(q, fd, batch, &err);

		pthread_mutex_lock(&q->mu);
		for (it = batch; it != NULL; it = it->next) {
			it->rc = rc;
			it->err = err;
		}
		if (batch->replace == NULL) {
			q->batches++;
			if (rc != 0)
				q->held = 1;
		} else if (rc == 0) {
			/* Later records go to the new file; the old one
			 * is intact after a failure, and stays in use. */
			batch->fd = newfd;
			q->fd = newfd;
		}
		list_append(&q->done, batch);
		q->busy = 0;
		if (write(q->evfd, &one, sizeof(one)) != sizeof(one))
			log_warn("state log eventfd");
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

int commitq_new(int fd, struct commitq **out)
{
	struct commitq *q;
	int rc = PG_ERR_NOMEM;

	if ((q = calloc(1, sizeof(*q))) == NULL)
		return rc;
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	list_init(&q->queued);
	list_init(&q->done);
	q->fd = fd;
	q->evfd = -1;
	if ((q->buf = malloc(COMMITQ_CHUNK)) == NULL)
		goto out;
	rc = PG_ERR_IO;
	if ((q->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0 ||
	    thread_start(&q->th, writer, q) != 0)
		goto out;
	q->started = 1;
	*out = q;
	q = NULL;
	rc = 0;
out:
	commitq_free(q);
	return rc;
}

int commitq_fd(const struct commitq *q)
{
	return q->evfd;
}

void commitq_push(struct commitq *q, struct commitq_item *it)
{
	int idle;

	it->next = NULL;
	it->rc = 0;
	it->err = 0;
	it->fd = -1;
	pthread_mutex_lock(&q->mu);
	list_append(&q->queued, it);
	idle = !q->busy;
	pthread_mutex_unlock(&q->mu);
	/* Signalled after the unlock: a writer woken while the mutex is
	 * held would only block on it again (two more context switches per
	 * record). A busy writer takes the queue by itself when done. */
	if (idle)
		pthread_cond_signal(&q->cv);
}

struct commitq_item *commitq_take_done(struct commitq *q, uint64_t *batches)
{
	struct commitq_item *done;
	uint64_t n;

	if (read(q->evfd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("state log eventfd");
	pthread_mutex_lock(&q->mu);
	done = list_take(&q->done);
	*batches = q->batches;
	q->batches = 0;
	pthread_mutex_unlock(&q->mu);
	return done;
}

int commitq_pause(struct commitq *q)
{
	int busy;

	pthread_mutex_lock(&q->mu);
	q->held = 1;
	busy = q->busy;
	pthread_mutex_unlock(&q->mu);
	return busy ? PG_ERR_BUSY : 0;
}

struct commitq_item *commitq_take_queued(struct commitq *q)
{
	struct commitq_item *first;

	pthread_mutex_lock(&q->mu);
	first = list_take(&q->queued);
	pthread_mutex_unlock(&q->mu);
	return first;
}

void commitq_resume(struct commitq *q, int fd)
{
	pthread_mutex_lock(&q->mu);
	q->fd = fd;
	q->held = 0;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

void commitq_stop(struct commitq *q)
{
	if (q == NULL || !q->started)
		return;
	pthread_mutex_lock(&q->mu);
	q->stop = 1;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
	pthread_join(q->th, NULL);
	q->started = 0;
}

void commitq_free(struct commitq *q)
{
	if (q == NULL)
		return;
	commitq_stop(q);
	if (q->evfd >= 0)
		close(q->evfd);
	pthread_cond_destroy(&q->cv);
	pthread_mutex_destroy(&q->mu);
	free(q->buf);
	free(q);
}
