// SPDX-License-Identifier: MIT OR GPL-2.0
//
// Port Inspector's flight recorder, in the kernel. Three tracepoints, one ring buffer:
// - sys_enter_bind keeps the address pointer and the socket's type per thread, sys_exit_bind
//   sends an event when the return value is negative (a refused bind, with its protocol);
// - sock:inet_sock_set_state sends an event when a TCP socket enters TCP_LISTEN (listen(2), in
//   the calling process: its PID, uid and comm are the listener's) and when it leaves it (close,
//   shutdown, the process's exit: in any context, so that event carries the socket, not a PID).
//
// Kernel structures are read through CO-RE (the field offsets are relocated at load time against
// the running kernel's BTF by aya): only the few fields named below are declared, with
// preserve_access_index, so no vmlinux.h is needed.
//
// The compiled object (bind.bpf.o) is committed: building Port Inspector never needs clang.
// Rebuild it with bpf/build.sh (clang, libbpf-dev); CI rebuilds it and checks it matches.

#include <linux/bpf.h>
#include <linux/types.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#define PA __attribute__((preserve_access_index))

struct inode { unsigned long i_ino; } PA;
struct file { struct inode *f_inode; void *private_data; } PA;
struct socket { short type; struct file *file; } PA;
struct fdtable { unsigned int max_fds; struct file **fd; } PA;
struct files_struct { struct fdtable *fdt; } PA;
struct net;
struct nsproxy { struct net *net_ns; } PA;
struct mm_struct { unsigned long arg_start; unsigned long arg_end; } PA;
struct task_struct {
    struct mm_struct *mm;
    struct files_struct *files;
    struct task_struct *group_leader;
    __u64 start_time;
    struct nsproxy *nsproxy;
    char comm[16];
} PA;
struct ns_common { unsigned int inum; } PA;
struct net { struct ns_common ns; } PA;
typedef struct { struct net *net; } possible_net_t;
// skc_ipv6only is a bit field: read with BPF_CORE_READ_BITFIELD_PROBED (its byte, shift and
// width relocated like any other field).
struct sock_common {
    possible_net_t skc_net;
    unsigned char skc_reuse:4;
    unsigned char skc_reuseport:1;
    unsigned char skc_ipv6only:1;
} PA;
struct sock { struct sock_common __sk_common; struct socket *sk_socket; } PA;

// The tracepoints' own layouts (/sys/kernel/tracing/events/*/*/format): the 8 bytes of common
// fields, then the record.
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

struct set_state_args {
    __u64 common;
    __u64 skaddr;
    __s32 oldstate;
    __s32 newstate;
    __u16 sport;
    __u16 dport;
    __u16 family;
    __u16 protocol;
    __u8 saddr[4];
    __u8 daddr[4];
    __u8 saddr_v6[16];
    __u8 daddr_v6[16];
};

#define ARGS_MAX 128

#define KIND_FAILED_BIND 0
#define KIND_LISTEN 1
#define KIND_UNLISTEN 2

#define TCP_CLOSE 7
#define TCP_LISTEN 10
#define PROTO_TCP 6
#define FAMILY_INET 2
#define FAMILY_INET6 10

// What the user space reads (little-endian, 256 bytes): see src/record/ebpf.rs.
struct event {
    __u32 pid;
    __u32 tid;
    __u32 uid;
    __s32 ret;
    __u64 ktime_ns;
    __u64 fd;
    char comm[16];
    // A sockaddr_in or sockaddr_in6: the one bind(2) was given, or the listener's address.
    __u8 sockaddr[32];
    __u32 kind;
    // The network namespace's inode number (/proc/PID/ns/net), 0 when unknown.
    __u32 netns;
    // The socket's inode (socket:[N], as sock_diag reports it), 0 when unknown.
    __u64 inode;
    // The kernel's socket address: the same for a socket's listen and its end.
    __u64 sk;
    // SOCK_STREAM 1, SOCK_DGRAM 2, ...; 0 when unknown.
    __s32 sock_type;
    // A listener's IPV6_V6ONLY: 1 off, 2 on; 0 for IPv4 or unknown.
    __u32 v6only;
    // When the listening process started (its thread group leader's start_time, boot-based
    // nanoseconds): with the PID, a name for the process that a later one reusing the PID
    // does not share (the user space keeps what it read of /proc per pair).
    __u64 start_ns;
    // The process's arguments (its argv, NUL-separated, as /proc/PID/cmdline has them), read
    // in the process itself: a process that fails its bind and exits at once (a service that
    // will not start) is gone before the user space could read /proc. args_len is their whole
    // length; the first ARGS_MAX bytes are kept. Refused binds and listens only.
    __u32 args_len;
    __u32 args_pad;
    char args[ARGS_MAX];
};

struct pending {
    __u64 umyaddr;
    __u64 fd;
    __s32 sock_type;
    __u32 pad;
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 16384);
    __type(key, __u64);
    __type(value, struct pending);
} PENDING SEC(".maps");

// 8 MiB: about 32,000 events between two reads, enough for a port scan refused on every port.
struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 8388608);
} EVENTS SEC(".maps");

// Events the ring buffer had no room for: the user space reads the whole table again when this
// grows, so nothing lost stays unknown.
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} LOST SEC(".maps");

static __always_inline struct event *reserve(void)
{
    struct event *e = bpf_ringbuf_reserve(&EVENTS, sizeof(struct event), 0);
    if (!e) {
        __u32 zero = 0;
        __u64 *lost = bpf_map_lookup_elem(&LOST, &zero);
        if (lost)
            __sync_fetch_and_add(lost, 1);
        return 0;
    }
    __builtin_memset(e, 0, sizeof(*e));
    return e;
}

// The current process's arguments into the event (see `struct event`). A page of them not in
// memory cannot be read here (no page faults in a tracepoint): the event then carries only
// their length, and the user space reads /proc as before.
static __always_inline void args_into(struct event *e, struct task_struct *task)
{
    struct mm_struct *mm = BPF_CORE_READ(task, mm);
    if (!mm)
        return;
    unsigned long start = BPF_CORE_READ(mm, arg_start);
    unsigned long end = BPF_CORE_READ(mm, arg_end);
    if (end <= start)
        return;
    unsigned long len = end - start;
    e->args_len = len > 0xffffffffUL ? 0xffffffffU : (__u32)len;
    if (len > ARGS_MAX)
        len = ARGS_MAX;
    if (bpf_probe_read_user(e->args, len, (void *)start) != 0)
        __builtin_memset(e->args, 0, sizeof(e->args));
}

// The file behind descriptor `fd` of the current process.
static __always_inline struct file *file_of(__u64 fd)
{
    struct task_struct *task = (struct task_struct *)bpf_get_current_task();
    struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
    unsigned int max = BPF_CORE_READ(fdt, max_fds);
    if (fd >= max)
        return 0;
    struct file **fds = BPF_CORE_READ(fdt, fd);
    struct file *f = 0;
    bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
    return f;
}

SEC("tracepoint/syscalls/sys_enter_bind")
int enter_bind(struct enter_bind_args *ctx)
{
    __u64 id = bpf_get_current_pid_tgid();
    struct pending p = { .umyaddr = ctx->umyaddr, .fd = ctx->fd };
    // The socket's type, read now while the descriptor surely is the one bind was given.
    struct file *f = file_of(ctx->fd);
    if (f) {
        struct socket *sock = BPF_CORE_READ(f, private_data);
        if (sock)
            p.sock_type = BPF_CORE_READ(sock, type);
    }
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
        struct event *e = reserve();
        if (e) {
            e->kind = KIND_FAILED_BIND;
            e->pid = id >> 32;
            e->tid = (__u32)id;
            e->uid = (__u32)bpf_get_current_uid_gid();
            e->ret = (__s32)ctx->ret;
            e->ktime_ns = bpf_ktime_get_ns();
            e->fd = p->fd;
            e->sock_type = p->sock_type;
            // The process's name (its thread group leader's comm, what ps shows), not the
            // calling thread's: a program's worker thread named "probe" is still that program.
            struct task_struct *task = (struct task_struct *)bpf_get_current_task();
            BPF_CORE_READ_STR_INTO(&e->comm, task, group_leader, comm);
            // The network namespace the bind was refused in: a recorder keeps its own.
            e->netns = BPF_CORE_READ(task, nsproxy, net_ns, ns.inum);
            args_into(e, task);
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

// A TCP socket entering or leaving TCP_LISTEN. Entering happens only in listen(2)
// (inet_csk_listen_start, process context): the current task is the listener. Leaving may
// happen in any context (a softirq for some transitions, another process holding the same
// descriptor): that event's PID is not used by the user space, the socket address `sk` ties it
// to its listen.
SEC("tracepoint/sock/inet_sock_set_state")
int set_state(struct set_state_args *ctx)
{
    if (ctx->protocol != PROTO_TCP)
        return 0;
    int listen = ctx->oldstate != TCP_LISTEN && ctx->newstate == TCP_LISTEN;
    int unlisten = ctx->oldstate == TCP_LISTEN && ctx->newstate != TCP_LISTEN;
    if (!listen && !unlisten)
        return 0;
    struct event *e = reserve();
    if (!e)
        return 0;
    __u64 id = bpf_get_current_pid_tgid();
    e->kind = listen ? KIND_LISTEN : KIND_UNLISTEN;
    e->pid = id >> 32;
    e->tid = (__u32)id;
    e->uid = (__u32)bpf_get_current_uid_gid();
    e->ktime_ns = bpf_ktime_get_ns();
    e->sk = ctx->skaddr;
    e->sock_type = 1;
    // The process's name, as for a refused bind (only a listen's is used).
    struct task_struct *current = (struct task_struct *)bpf_get_current_task();
    BPF_CORE_READ_STR_INTO(&e->comm, current, group_leader, comm);
    // The address as a sockaddr: the family in host order, the port in network order.
    e->sockaddr[0] = ctx->family & 0xff;
    e->sockaddr[1] = ctx->family >> 8;
    e->sockaddr[2] = ctx->sport >> 8;
    e->sockaddr[3] = ctx->sport & 0xff;
    if (ctx->family == FAMILY_INET6)
        __builtin_memcpy(&e->sockaddr[8], ctx->saddr_v6, 16);
    else
        __builtin_memcpy(&e->sockaddr[4], ctx->saddr, 4);
    struct sock *sk = (struct sock *)ctx->skaddr;
    e->netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
    e->inode = BPF_CORE_READ(sk, sk_socket, file, f_inode, i_ino);
    if (ctx->family == FAMILY_INET6)
        e->v6only = BPF_CORE_READ_BITFIELD_PROBED(&sk->__sk_common, skc_ipv6only) ? 2 : 1;
    if (listen) {
        e->start_ns = BPF_CORE_READ(current, group_leader, start_time);
        args_into(e, current);
    }
    bpf_ringbuf_submit(e, 0);
    return 0;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
