/*
 * model/killpriv.h — what the daemon owes the kernel under
 * FUSE_HANDLE_KILLPRIV_V2: set-ID bits and security.capability dropped
 * after a change of a file's data, as a local file system would. The
 * transport (daemon/kernel_io.c) tells this module whether the kernel
 * accepted killpriv_v2 and what each request asked for.
 */
#ifndef MMAPFS_MODEL_KILLPRIV_H
#define MMAPFS_MODEL_KILLPRIV_H

#include "model/inode.h"

/* The transport: the kernel accepted FUSE_HANDLE_KILLPRIV_V2 (once, at
 * INIT, before any other request). */
void mmapfs_killpriv_set_active(void);
/* The transport: the request this thread is about to handle asked for
 * set-ID bits to be dropped (FUSE_WRITE_KILL_SUIDGID and its kin). Valid
 * until the thread's next request. */
void mmapfs_killpriv_set_request(bool kill_suidgid);
/* True once the kernel accepted FUSE_HANDLE_KILLPRIV_V2. */
bool mmapfs_killpriv_v2(void);
/* Under killpriv_v2, after a write or truncation of in (fd: a descriptor
 * of it, or -1; st: its attributes): clears set-user-ID and set-group-ID
 * as the current request asks, and drops security.capability. True when
 * it changed something. */
bool mmapfs_kill_privs(struct mmapfs_inode *in, int fd, const struct stat *st);
/* Whether mmapfs_kill_privs() after the current request's change of in
 * may have something to drop, and so needs the file's attributes: under
 * killpriv_v2, when the request asks to clear set-ID bits (the kernel
 * asks for every caller without CAP_FSETID) or to ask the caller, or
 * when security.capability is not known to be absent. */
bool mmapfs_kill_privs_needs_stat(struct mmapfs_inode *in);
/* For requests without a kill flag (fallocate, copy_file_range): the
 * set-ID bits go unless the caller of req has CAP_FSETID, as on a local
 * file system. Call in the handler before mmapfs_own_change_end_data. */
void mmapfs_killpriv_ask_caller(fuse_req_t req);

#endif /* MMAPFS_MODEL_KILLPRIV_H */
