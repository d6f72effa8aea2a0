// SPDX-License-Identifier: MIT OR GPL-2.0
//
// Port Inspector's flight recorder: every bind(2) that fails, with the process, the address it
// asked for and the error. Two tracepoints: sys_enter_bind keeps the address pointer per thread,
// sys_exit_bind sends an event through a ring buffer when the return value is negative.
//
// The compiled object (bind.bpf.o) is committed: building Port Inspector never needs clang.
// Rebuild it with bpf/build.sh (clang, libbpf-dev); CI rebuilds it and checks it matches.

#include <linux/bpf.h>
#include <linux/types.h>
#include <bpf/bpf_helpers.h>

// The tracepoints' own layouts (/sys/kernel/tracing/events/syscalls/sys_*_bind/format): the
// 8 bytes of common fields, the syscall number, then the arguments or the return value.
struct enter_bind_args {
    __u64 common;
    __s32 syscall_nr;
    __u32 pad;
    __u64 fd;
    __u64 umyaddr;
    __u64 addrlen;
};

struct exit_bind_args {
    __u64 common;
    __s32 syscall_nr;
    __u32 pad;
    __s64 ret;
};

// What the user space reads (little-endian, 80 bytes): see src/record/ebpf.rs.
struct event {
    __u32 pid;
    __u32 tid;
    __u32 uid;
    __s32 ret;
    __u64 ktime_ns;
    __u64 fd;
    char comm[16];
    __u8 sockaddr[32];
};

struct pending {
    __u64 umyaddr;
    __u64 fd;
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 16384);
    __type(key, __u64);
    __type(value, struct pending);
} PENDING SEC(".maps");

// 4 MiB: about 47,000 events between two reads, enough for a port scan refused on every port.
struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 4194304);
} EVENTS SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_bind")
int enter_bind(struct enter_bind_args *ctx)
{
    __u64 id = bpf_get_current_pid_tgid();
    struct pending p = { .umyaddr = ctx->umyaddr, .fd = ctx->fd };
    bpf_map_update_elem(&PENDING, &id, &p, BPF_ANY);
    return 0;
}

SEC("tracepoint/syscalls/sys_exit_bind")
int exit_bind(struct exit_bind_args *ctx)
{
    __u64 id = bpf_get_current_pid_tgid();
    struct pending *p = bpf_map_lookup_elem(&PENDING, &id);
    if (!p)
        return 0;
    if (ctx->ret < 0) {
        struct event *e = bpf_ringbuf_reserve(&EVENTS, sizeof(*e), 0);
        if (e) {
            e->pid = id >> 32;
            e->tid = (__u32)id;
            e->uid = (__u32)bpf_get_current_uid_gid();
            e->ret = (__s32)ctx->ret;
            e->ktime_ns = bpf_ktime_get_ns();
            e->fd = p->fd;
            bpf_get_current_comm(e->comm, sizeof(e->comm));
            // sockaddr_in6 is 28 bytes; a shorter sockaddr_in at the very end of a page would
            // fail the long read, so try the short one then.
            if (bpf_probe_read_user(e->sockaddr, 28, (void *)p->umyaddr) != 0) {
                __builtin_memset(e->sockaddr, 0, sizeof(e->sockaddr));
                bpf_probe_read_user(e->sockaddr, 16, (void *)p->umyaddr);
            }
            bpf_ringbuf_submit(e, 0);
        }
    }
    bpf_map_delete_elem(&PENDING, &id);
    return 0;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
