//! The inet_diag bytecode that sock_diag runs in the kernel to filter a dump
//! by port and address: "(sport or dport in PORTS) and (saddr or daddr in
//! ADDRS)", each list OR-ed.
//!
//! Owns: building `INET_DIAG_REQ_BYTECODE` programs. Must not: do I/O or know
//! about netlink messages; `netlink_wire` wraps the program in an attribute.
//! `DumpRequest::admits` is the same test in user space and must agree.
//!
//! # How the kernel runs a program (net/ipv4/inet_diag.c)
//!
//! A program is a sequence of 4-byte `struct inet_diag_bc_op { u8 code; u8
//! yes; u16 no; }` in host byte order. `inet_diag_bc_run` starts at offset 0
//! with `len` = the program length; after each op it moves forward by `yes`
//! when the condition held and by `no` when it did not, subtracting the same
//! amount from `len`. It stops when `len <= 0`: the socket is accepted if
//! `len == 0` (a jump landed exactly on the end), rejected otherwise (a jump
//! past the end). `INET_DIAG_BC_JMP` is a condition that never holds, so it
//! always takes `no`. The port ops (`S_EQ`, `S_GE`, `S_LE` and the `D_`
//! ones) read their port (host order) from the `no` field of the op that
//! follows them, so they are 8 bytes long. `S_COND` / `D_COND` are followed
//! by a `struct inet_diag_hostcond { u8 family; u8 prefix_len; int port; }`
//! (8 bytes, port -1 = any) and the address in network order (4 or 16
//! bytes); an `AF_INET` condition also matches an IPv4-mapped IPv6 address.
//!
//! `inet_diag_bc_audit` rejects the whole request (EINVAL) unless every op
//! reachable through `yes` jumps has `yes` and `no` that are multiples of 4,
//! at least the op's own length and at most 4 bytes past the end, and unless
//! every `no` that lands inside the program lands on an op boundary reached
//! from the start through `yes` jumps only (`valid_cc`).
//!
//! # Layout produced here
//!
//! `yes` is a single byte, so "matched: jump straight on" only reaches 255
//! bytes. Each condition is therefore followed by a trampoline `JMP` whose
//! 16-bit `no` reaches the start of the next group (or the end = accept):
//!
//! ```text
//! a port:       [S_EQ yes=8 no=miss] [0 0 port] [JMP yes=4 no=hit]
//! a port range: [S_GE yes=8 no=miss] [0 0 low] [S_LE yes=8 no=miss] [0 0 high] [JMP ...]
//! an address:   [S_COND yes=12+n no=miss] [family len 0 0] [port -1] [n address bytes] [JMP ...]
//! ```
//!
//! A miss goes to the next condition of the same group; the last
//! condition's miss jumps 4 bytes past the end = reject. Every op boundary
//! sits on the chain of `yes` jumps, which is what `valid_cc` checks.

use std::net::IpAddr;

use crate::model::IpPrefix;

/// `INET_DIAG_REQ_BYTECODE`: the request attribute that carries a program.
pub const INET_DIAG_REQ_BYTECODE: u16 = 1;

/// Op codes from include/uapi/linux/inet_diag.h.
pub const INET_DIAG_BC_JMP: u8 = 1;
pub const INET_DIAG_BC_S_GE: u8 = 2;
pub const INET_DIAG_BC_S_LE: u8 = 3;
pub const INET_DIAG_BC_D_GE: u8 = 4;
pub const INET_DIAG_BC_D_LE: u8 = 5;
pub const INET_DIAG_BC_S_COND: u8 = 7;
pub const INET_DIAG_BC_D_COND: u8 = 8;
pub const INET_DIAG_BC_S_EQ: u8 = 11;
pub const INET_DIAG_BC_D_EQ: u8 = 12;

const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;

/// The largest program built. Jump offsets and the netlink attribute length
/// are 16-bit; this leaves room for both. 2048 separate ports make a 48 KiB
/// program; a range costs as little as one port.
pub const MAX_PROGRAM_LEN: usize = 48 * 1024;

/// The most separate ports (not in ranges) one program can filter.
pub const MAX_FILTER_PORTS: usize = MAX_PROGRAM_LEN / (2 * 12);

/// Which addresses of a socket an address group tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddrOps {
    /// `S_COND` or `D_COND`: the local or the remote address.
    SourceOrDestination,
    /// `S_COND` alone: the local address (for listeners).
    SourceOnly,
}

/// One alternative of a group, before layout.
#[derive(Debug, Clone, Copy)]
enum Test {
    PortEq { code: u8, port: u16 },
    PortRange { ge: u8, le: u8, low: u16, high: u16 },
    Host { code: u8, prefix: IpPrefix },
}

impl Test {
    /// Bytes of the test itself, without its trampoline.
    fn len(&self) -> usize {
        match self {
            Test::PortEq { .. } => 8,
            Test::PortRange { .. } => 16,
            Test::Host { prefix, .. } => 12 + address_bytes(prefix.addr).len(),
        }
    }
}

fn address_bytes(addr: IpAddr) -> Vec<u8> {
    match addr {
        IpAddr::V4(ip) => ip.octets().to_vec(),
        IpAddr::V6(ip) => ip.octets().to_vec(),
    }
}

/// Builds a program accepting a socket whose source or destination port is
/// one of `ports` (consecutive ports become one range test) and, if `addrs`
/// is not empty, whose address lies in one of `addrs` (`ops` says which
/// addresses). The same sets always give the same bytes.
///
/// Returns an empty program (no in-kernel filter) when both lists are
/// empty, or when the program would exceed [`MAX_PROGRAM_LEN`]: the caller
/// must then filter in user space.
pub fn filter_program(ports: &[u16], addrs: &[IpPrefix], ops: AddrOps) -> Vec<u8> {
    let mut groups: Vec<Vec<Test>> = Vec::new();
    if !ports.is_empty() {
        let mut group = Vec::new();
        for (low, high) in port_runs(ports) {
            for (eq, ge, le) in [
                (INET_DIAG_BC_S_EQ, INET_DIAG_BC_S_GE, INET_DIAG_BC_S_LE),
                (INET_DIAG_BC_D_EQ, INET_DIAG_BC_D_GE, INET_DIAG_BC_D_LE),
            ] {
                group.push(if low == high {
                    Test::PortEq {
                        code: eq,
                        port: low,
                    }
                } else {
                    Test::PortRange { ge, le, low, high }
                });
            }
        }
        groups.push(group);
    }
    if !addrs.is_empty() {
        let mut distinct = addrs.to_vec();
        distinct.sort_by_key(|p| (p.addr, p.len));
        distinct.dedup();
        let codes: &[u8] = match ops {
            AddrOps::SourceOrDestination => &[INET_DIAG_BC_S_COND, INET_DIAG_BC_D_COND],
            AddrOps::SourceOnly => &[INET_DIAG_BC_S_COND],
        };
        let group = distinct
            .into_iter()
            .flat_map(|prefix| codes.iter().map(move |&code| Test::Host { code, prefix }))
            .collect();
        groups.push(group);
    }
    layout(&groups)
}

/// "sport or dport in `ports`": [`filter_program`] without addresses.
pub fn port_filter(ports: &[u16]) -> Vec<u8> {
    filter_program(ports, &[], AddrOps::SourceOrDestination)
}

/// Whether [`port_filter`] can express `ports` in the kernel.
pub fn fits_in_kernel_filter(ports: &[u16]) -> bool {
    !port_filter(ports).is_empty()
}

/// Sorted runs of consecutive ports: `[22, 80, 81, 82]` → `(22,22), (80,82)`.
fn port_runs(ports: &[u16]) -> Vec<(u16, u16)> {
    let mut sorted = ports.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut runs: Vec<(u16, u16)> = Vec::new();
    for port in sorted {
        match runs.last_mut() {
            Some((_, high)) if high.checked_add(1) == Some(port) => *high = port,
            _ => runs.push((port, port)),
        }
    }
    runs
}

/// Lays the groups out (see the module header) and emits the bytes.
fn layout(groups: &[Vec<Test>]) -> Vec<u8> {
    let group_len = |group: &Vec<Test>| group.iter().map(|t| t.len() + 4).sum::<usize>();
    let total: usize = groups.iter().map(group_len).sum();
    if total == 0 || total > MAX_PROGRAM_LEN {
        return Vec::new();
    }
    let mut program = Vec::with_capacity(total);
    let mut group_start = 0;
    for group in groups {
        let group_end = group_start + group_len(group);
        for (index, test) in group.iter().enumerate() {
            let start = program.len();
            let next = start + test.len() + 4;
            let is_last = index + 1 == group.len();
            // A miss from the op at `at`: the next alternative, or reject.
            let miss = |at: usize| if is_last { total - at + 4 } else { next - at };
            match *test {
                Test::PortEq { code, port } => {
                    push_op(&mut program, code, 8, miss(start));
                    push_op(&mut program, 0, 0, usize::from(port));
                }
                Test::PortRange { ge, le, low, high } => {
                    push_op(&mut program, ge, 8, miss(start));
                    push_op(&mut program, 0, 0, usize::from(low));
                    push_op(&mut program, le, 8, miss(start + 8));
                    push_op(&mut program, 0, 0, usize::from(high));
                }
                Test::Host { code, prefix } => {
                    let len = test.len();
                    push_op(
                        &mut program,
                        code,
                        u8::try_from(len).unwrap_or(0),
                        miss(start),
                    );
                    let family = match prefix.addr {
                        IpAddr::V4(_) => AF_INET,
                        IpAddr::V6(_) => AF_INET6,
                    };
                    program.extend_from_slice(&[family, prefix.len, 0, 0]);
                    program.extend_from_slice(&(-1i32).to_ne_bytes());
                    program.extend_from_slice(&address_bytes(prefix.addr));
                }
            }
            let jump_at = program.len();
            push_op(&mut program, INET_DIAG_BC_JMP, 4, group_end - jump_at);
        }
        group_start = group_end;
    }
    program
}

/// Appends one `inet_diag_bc_op`. Offsets are bounded by the program size
/// (at most `MAX_PROGRAM_LEN + 4` bytes), so they fit in u16.
fn push_op(program: &mut Vec<u8>, code: u8, yes: u8, no: usize) {
    let no = u16::try_from(no).unwrap_or(u16::MAX);
    program.push(code);
    program.push(yes);
    program.extend_from_slice(&no.to_ne_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;

    fn op(code: u8, yes: u8, no: u16) -> Vec<u8> {
        let mut bytes = vec![code, yes];
        bytes.extend_from_slice(&no.to_ne_bytes());
        bytes
    }

    /// A straight re-implementation of `inet_diag_bc_run` restricted to the
    /// ops we emit, to check the program's meaning without a kernel.
    fn run_on(program: &[u8], local: SocketAddr, remote: SocketAddr) -> bool {
        let (sport, dport) = (local.port(), remote.port());
        let mut pc = 0usize;
        let mut len = program.len() as i64;
        while len > 0 {
            let code = program[pc];
            let yes = program[pc + 1] as usize;
            let no = u16::from_ne_bytes([program[pc + 2], program[pc + 3]]) as usize;
            let operand = || u16::from_ne_bytes([program[pc + 6], program[pc + 7]]);
            let holds = match code {
                INET_DIAG_BC_JMP => false,
                INET_DIAG_BC_S_EQ => sport == operand(),
                INET_DIAG_BC_D_EQ => dport == operand(),
                INET_DIAG_BC_S_GE => sport >= operand(),
                INET_DIAG_BC_S_LE => sport <= operand(),
                INET_DIAG_BC_D_GE => dport >= operand(),
                INET_DIAG_BC_D_LE => dport <= operand(),
                INET_DIAG_BC_S_COND | INET_DIAG_BC_D_COND => {
                    let end = if code == INET_DIAG_BC_S_COND {
                        local
                    } else {
                        remote
                    };
                    host_cond_holds(&program[pc + 4..pc + yes], end)
                }
                other => panic!("unexpected op {other}"),
            };
            let step = if holds { yes } else { no };
            pc += step;
            len -= step as i64;
        }
        len == 0
    }

    /// The kernel's S_COND/D_COND test on one end of a socket, port -1 only.
    fn host_cond_holds(cond: &[u8], end: SocketAddr) -> bool {
        let (family, prefix_len) = (cond[0], cond[1] as usize);
        assert_eq!(i32::from_ne_bytes(cond[4..8].try_into().unwrap()), -1);
        let wanted = &cond[8..];
        let bits = |addr: &[u8]| {
            (0..prefix_len).all(|bit| {
                let mask = 0x80u8 >> (bit % 8);
                addr[bit / 8] & mask == wanted[bit / 8] & mask
            })
        };
        match (family, end.ip()) {
            (AF_INET, IpAddr::V4(ip)) => bits(&ip.octets()),
            (AF_INET6, IpAddr::V6(ip)) => bits(&ip.octets()),
            // An AF_INET condition against an IPv6 socket: only a
            // v4-mapped address, compared on its last 4 bytes.
            (AF_INET, IpAddr::V6(ip)) => {
                let octets = ip.octets();
                octets[..10].iter().all(|b| *b == 0)
                    && octets[10..12] == [0xff, 0xff]
                    && bits(&octets[12..])
            }
            _ => false,
        }
    }

    fn run(program: &[u8], sport: u16, dport: u16) -> bool {
        run_on(
            program,
            SocketAddr::from(([127, 0, 0, 1], sport)),
            SocketAddr::from(([127, 0, 0, 1], dport)),
        )
    }

    /// A re-implementation of `inet_diag_bc_audit` + `valid_cc` for our ops.
    fn audit(program: &[u8]) -> bool {
        let total = program.len() as i64;
        let valid_cc = |cc: i64| {
            let mut len = total;
            let mut pc = 0usize;
            while len >= 0 {
                if cc > len {
                    return false;
                }
                if cc == len {
                    return true;
                }
                let yes = program[pc + 1] as i64;
                if yes < 4 || yes & 3 != 0 {
                    return false;
                }
                len -= yes;
                pc += yes as usize;
            }
            false
        };
        let mut len = total;
        let mut pc = 0usize;
        while len > 0 {
            let code = program[pc];
            let yes = program[pc + 1] as i64;
            let no = u16::from_ne_bytes([program[pc + 2], program[pc + 3]]) as i64;
            let min_len = match code {
                INET_DIAG_BC_S_EQ | INET_DIAG_BC_D_EQ => 8,
                INET_DIAG_BC_S_GE | INET_DIAG_BC_S_LE | INET_DIAG_BC_D_GE | INET_DIAG_BC_D_LE => 8,
                INET_DIAG_BC_S_COND | INET_DIAG_BC_D_COND => {
                    // valid_hostcond: the family fixes the address length,
                    // the prefix fits in it.
                    let Some(cond) = program.get(pc + 4..pc + 12) else {
                        return false;
                    };
                    let address_len = match cond[0] {
                        0 => 0,
                        AF_INET => 4,
                        AF_INET6 => 16,
                        _ => return false,
                    };
                    if usize::from(cond[1]) > 8 * address_len {
                        return false;
                    }
                    12 + address_len as i64
                }
                INET_DIAG_BC_JMP => 4,
                _ => return false,
            };
            if len < min_len {
                return false;
            }
            if no < min_len || no > len + 4 || no & 3 != 0 {
                return false;
            }
            if no < len && !valid_cc(len - no) {
                return false;
            }
            if yes < min_len || yes > len + 4 || yes & 3 != 0 {
                return false;
            }
            pc += yes as usize;
            len -= yes;
        }
        len == 0
    }

    #[test]
    fn no_ports_means_no_program() {
        assert!(port_filter(&[]).is_empty());
        assert!(!fits_in_kernel_filter(&[]));
    }

    #[test]
    fn one_port_is_byte_for_byte_as_derived_by_hand() {
        // Two conditions, 24 bytes:
        //  0: S_EQ yes=8 no=12      8: JMP yes=4 no=16 (24-8 → offset 24 = end)
        //  4: port 8080            12: D_EQ yes=8 no=16 (12 left + 4 → reject)
        // 16: port 8080            20: JMP yes=4 no=4 (→ end)
        let expected = [
            op(INET_DIAG_BC_S_EQ, 8, 12),
            op(0, 0, 8080),
            op(INET_DIAG_BC_JMP, 4, 16),
            op(INET_DIAG_BC_D_EQ, 8, 16),
            op(0, 0, 8080),
            op(INET_DIAG_BC_JMP, 4, 4),
        ]
        .concat();
        assert_eq!(port_filter(&[8080]), expected);
    }

    #[test]
    fn two_ports_are_sorted_deduplicated_and_chained() {
        let expected = [
            op(INET_DIAG_BC_S_EQ, 8, 12),
            op(0, 0, 22),
            op(INET_DIAG_BC_JMP, 4, 40),
            op(INET_DIAG_BC_D_EQ, 8, 12),
            op(0, 0, 22),
            op(INET_DIAG_BC_JMP, 4, 28),
            op(INET_DIAG_BC_S_EQ, 8, 12),
            op(0, 0, 443),
            op(INET_DIAG_BC_JMP, 4, 16),
            op(INET_DIAG_BC_D_EQ, 8, 16),
            op(0, 0, 443),
            op(INET_DIAG_BC_JMP, 4, 4),
        ]
        .concat();
        assert_eq!(port_filter(&[443, 22, 443]), expected);
    }

    #[test]
    fn programs_pass_the_kernel_audit_and_mean_sport_or_dport() {
        for ports in [
            vec![1u16],
            vec![80, 443],
            vec![1, 2, 3, 65535],
            (1..=40).collect(),
        ] {
            let program = port_filter(&ports);
            assert!(audit(&program), "audit failed for {ports:?}");
            for &p in &ports {
                assert!(run(&program, p, 50000), "sport {p}");
                assert!(run(&program, 50000, p), "dport {p}");
            }
            assert!(!run(&program, 50000, 50001));
            assert!(!run(&program, 0, 0));
        }
    }

    #[test]
    fn the_largest_program_still_fits_its_jumps() {
        // Every other port: no runs, so each port costs two tests.
        let ports: Vec<u16> = (1..=MAX_FILTER_PORTS as u16).map(|p| p * 2).collect();
        assert!(fits_in_kernel_filter(&ports));
        let program = port_filter(&ports);
        assert_eq!(program.len(), MAX_FILTER_PORTS * 2 * 12);
        assert!(program.len() + 4 <= u16::MAX as usize, "attribute length");
        assert!(audit(&program));
        assert!(run(&program, 2, 9999));
        assert!(run(&program, 9999, MAX_FILTER_PORTS as u16 * 2));
        assert!(!run(&program, 9999, 9997));
    }

    #[test]
    fn consecutive_ports_become_one_range_test() {
        let ports: Vec<u16> = (10000..=10010).chain([22, 80]).collect();
        let program = port_filter(&ports);
        // 22 and 80: 2 × (8 + 4) each; the range: 2 × (16 + 4).
        assert_eq!(program.len(), 2 * 2 * 12 + 2 * 20);
        assert!(audit(&program));
        for port in [22, 80, 10000, 10005, 10010] {
            assert!(run(&program, port, 50000), "sport {port}");
            assert!(run(&program, 50000, port), "dport {port}");
        }
        for port in [21, 23, 9999, 10011, 50000] {
            assert!(!run(&program, port, 50001), "sport {port}");
        }
        let everything: Vec<u16> = (1..=u16::MAX).collect();
        let program = port_filter(&everything);
        assert_eq!(program.len(), 40, "one range, both directions");
        assert!(audit(&program));
        assert!(run(&program, 1, 0) && run(&program, 0, 65535));
    }

    #[test]
    fn addresses_are_and_ed_with_ports_and_match_either_end() {
        let prefixes: Vec<IpPrefix> = ["10.0.0.0/8", "192.168.1.5", "fe80::/10"]
            .iter()
            .map(|p| p.parse().unwrap())
            .collect();
        let program = filter_program(&[80, 81, 82, 443], &prefixes, AddrOps::SourceOrDestination);
        assert!(audit(&program));
        let at = |text: &str| text.parse::<SocketAddr>().unwrap();
        for (local, remote, expected) in [
            ("10.1.2.3:80", "8.8.8.8:5000", true),
            ("8.8.8.8:5000", "10.1.2.3:81", true),
            ("127.0.0.1:443", "192.168.1.5:6000", true),
            ("127.0.0.1:443", "192.168.1.6:6000", false),
            ("10.1.2.3:8080", "10.1.2.4:5000", false),
            ("[fe80::1]:443", "[2001:db8::1]:5000", true),
            ("[2001:db8::2]:443", "[2001:db8::1]:5000", false),
            ("[::ffff:10.9.9.9]:82", "[::ffff:1.1.1.1]:5000", true),
            ("[::ffff:11.9.9.9]:82", "[::ffff:1.1.1.1]:5000", false),
        ] {
            assert_eq!(
                run_on(&program, at(local), at(remote)),
                expected,
                "{local} {remote}"
            );
        }
        let addresses_only = filter_program(&[], &prefixes[..1], AddrOps::SourceOrDestination);
        assert!(audit(&addresses_only));
        assert!(run_on(&addresses_only, at("1.1.1.1:1"), at("10.0.0.1:2")));
        assert!(!run_on(&addresses_only, at("1.1.1.1:1"), at("11.0.0.1:2")));
    }

    #[test]
    fn listener_programs_test_the_local_address_only() {
        let prefixes = [
            "10.0.0.5".parse::<IpPrefix>().unwrap(),
            IpPrefix::WILDCARDS[0],
            IpPrefix::WILDCARDS[1],
        ];
        let program = filter_program(&[], &prefixes, AddrOps::SourceOnly);
        assert!(audit(&program));
        let at = |text: &str| text.parse::<SocketAddr>().unwrap();
        assert!(run_on(&program, at("0.0.0.0:80"), at("0.0.0.0:0")));
        assert!(run_on(&program, at("[::]:80"), at("[::]:0")));
        assert!(run_on(&program, at("10.0.0.5:80"), at("0.0.0.0:0")));
        assert!(!run_on(&program, at("127.0.0.1:80"), at("0.0.0.0:0")));
    }

    #[test]
    fn the_audit_model_rejects_a_miss_jump_onto_an_operand() {
        // The live test sends this same program and gets EINVAL.
        let mut bad = port_filter(&[80, 443]);
        bad[2..4].copy_from_slice(&16u16.to_ne_bytes());
        assert!(!audit(&bad));
    }

    #[test]
    fn too_many_ports_fall_back_to_user_space() {
        let ports: Vec<u16> = (1..=(MAX_FILTER_PORTS as u16 + 1)).map(|p| p * 2).collect();
        assert!(!fits_in_kernel_filter(&ports));
        assert!(port_filter(&ports).is_empty());
    }

    /// A small xorshift generator: the same cases on every run.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }

        /// An address from a small pool, so prefixes and sockets meet.
        fn address(&mut self) -> IpAddr {
            match self.below(4) {
                0 => IpAddr::from([10, self.below(3) as u8, 0, self.below(4) as u8]),
                1 => IpAddr::from([127, 0, 0, 1 + self.below(3) as u8]),
                2 => IpAddr::from([0xfe80, 0, 0, 0, 0, 0, 0, self.below(3) as u16]),
                _ => IpAddr::from([0, 0, 0, 0, 0, 0xffff, 0x0a00, self.below(4) as u16]),
            }
        }
    }

    /// Thousands of random filters and sockets: the kernel's reading of our
    /// program (the simulator above) and `DumpRequest::admits`, the rule
    /// /proc and oversized filters use, always agree.
    #[test]
    fn programs_agree_with_the_user_space_rule_on_random_cases() {
        use crate::collect::{AddrSide, DumpRequest};
        use crate::model::{SocketRecord, TcpState};

        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        for case in 0..400 {
            let mut ports: Vec<u16> = Vec::new();
            for _ in 0..rng.below(4) {
                let start = 1000 + rng.below(40) as u16;
                ports.extend(start..=start + rng.below(5) as u16);
            }
            let addrs: Vec<IpPrefix> = (0..rng.below(3))
                .map(|_| {
                    let addr = rng.address();
                    let max = if addr.is_ipv4() { 32 } else { 128 };
                    let len = [max, max - 2, max / 2, 0][rng.below(4) as usize];
                    format!("{addr}/{len}").parse().unwrap()
                })
                .collect();
            if ports.is_empty() && addrs.is_empty() {
                continue;
            }
            let side = if rng.below(2) == 0 {
                AddrSide::Either
            } else {
                AddrSide::Local
            };
            let ops = match side {
                AddrSide::Either => AddrOps::SourceOrDestination,
                AddrSide::Local => AddrOps::SourceOnly,
            };
            let program = filter_program(&ports, &addrs, ops);
            assert!(audit(&program), "case {case}: {ports:?} {addrs:?}");
            let request = DumpRequest {
                ports: ports.clone(),
                addrs: addrs.clone(),
                addr_side: side,
                ..DumpRequest::all()
            }
            .with_sorted_ports();
            for _ in 0..30 {
                let local_ip = rng.address();
                // Both ends of a socket are of one family.
                let remote_ip = loop {
                    let ip = rng.address();
                    if ip.is_ipv4() == local_ip.is_ipv4() {
                        break ip;
                    }
                };
                let local = SocketAddr::new(local_ip, 995 + rng.below(55) as u16);
                let remote = SocketAddr::new(remote_ip, 995 + rng.below(55) as u16);
                let record = SocketRecord {
                    state: TcpState::Established,
                    local,
                    remote,
                    ..crate::collect::netlink_wire::BLANK_RECORD
                };
                assert_eq!(
                    run_on(&program, local, remote),
                    request.admits(&record),
                    "case {case}: {local} {remote} against {ports:?} {addrs:?} {side:?}"
                );
            }
        }
    }
}
