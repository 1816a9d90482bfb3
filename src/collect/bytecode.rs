//! The inet_diag bytecode that sock_diag runs in the kernel to filter a dump
//! by port: "sport == P or dport == P" for each P, OR-ed.
//!
//! Owns: building `INET_DIAG_REQ_BYTECODE` programs. Must not: do I/O or know
//! about netlink messages; `netlink_wire` wraps the program in an attribute.
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
//! always takes `no`. The port ops `S_EQ` / `D_EQ` read their port (host
//! order) from the `no` field of the op that follows them, so they are 8
//! bytes long.
//!
//! `inet_diag_bc_audit` rejects the whole request (EINVAL) unless every op
//! reachable through `yes` jumps has `yes` and `no` that are multiples of 4,
//! at least the op's own length and at most 4 bytes past the end, and unless
//! every `no` that lands inside the program lands on an op boundary reached
//! from the start through `yes` jumps only (`valid_cc`).
//!
//! # Layout produced here
//!
//! `yes` is a single byte, so "matched: jump straight to the end" only
//! reaches 255 bytes. To filter any number of ports, each condition is
//! followed by a trampoline `JMP` whose 16-bit `no` reaches the end:
//!
//! ```text
//! per condition (12 bytes), remaining = bytes from the condition to the end:
//!   [S_EQ|D_EQ  yes=8  no=12]   miss: skip the port and the JMP, next condition
//!   [0     0    port        ]   operand read by the op above
//!   [JMP   yes=4  no=remaining-8]  match lands here: jump to the end = accept
//! the last condition's miss jumps 4 bytes past the end (no=16) = reject.
//! ```
//!
//! Every op boundary sits on the chain of `yes` jumps (8, 4, 8, 4, …), which
//! is what `valid_cc` checks.

/// `INET_DIAG_REQ_BYTECODE`: the request attribute that carries a program.
pub(crate) const INET_DIAG_REQ_BYTECODE: u16 = 1;

/// Op codes from include/uapi/linux/inet_diag.h.
pub(crate) const INET_DIAG_BC_JMP: u8 = 1;
pub(crate) const INET_DIAG_BC_S_EQ: u8 = 11;
pub(crate) const INET_DIAG_BC_D_EQ: u8 = 12;

/// Bytes per condition: the comparison op, its port operand and the JMP.
const CONDITION_LEN: usize = 12;

/// The most distinct ports one program can filter. Beyond this the 16-bit
/// jump offsets (and the 16-bit netlink attribute length) would overflow.
/// 2048 ports make a 48 KiB program.
pub(crate) const MAX_FILTER_PORTS: usize = 2048;

/// Builds a program accepting a socket whose source or destination port is
/// one of `ports`. Ports are deduplicated and sorted, so the same set always
/// gives the same bytes.
///
/// Returns an empty program (no in-kernel filter) when `ports` is empty, or
/// when it holds more than [`MAX_FILTER_PORTS`] distinct ports: the caller
/// must then filter in user space (see [`fits_in_kernel_filter`]).
pub fn port_filter(ports: &[u16]) -> Vec<u8> {
    let mut distinct = ports.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.is_empty() || distinct.len() > MAX_FILTER_PORTS {
        return Vec::new();
    }

    let conditions = distinct.len() * 2;
    let total = conditions * CONDITION_LEN;
    let mut program = Vec::with_capacity(total);
    let mut index = 0;
    for port in distinct {
        for code in [INET_DIAG_BC_S_EQ, INET_DIAG_BC_D_EQ] {
            let remaining = total - index * CONDITION_LEN;
            let is_last = index + 1 == conditions;
            let miss = if is_last {
                remaining + 4
            } else {
                CONDITION_LEN
            };
            push_op(&mut program, code, 8, miss);
            push_op(&mut program, 0, 0, usize::from(port));
            push_op(&mut program, INET_DIAG_BC_JMP, 4, remaining - 8);
            index += 1;
        }
    }
    program
}

/// Whether [`port_filter`] can express `ports` in the kernel (non-empty and
/// at most [`MAX_FILTER_PORTS`] distinct ports).
#[cfg(test)]
pub(crate) fn fits_in_kernel_filter(ports: &[u16]) -> bool {
    if ports.is_empty() {
        return false;
    }
    let mut distinct = ports.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    distinct.len() <= MAX_FILTER_PORTS
}

/// Appends one `inet_diag_bc_op`. Offsets are bounded by the program size
/// (at most `MAX_FILTER_PORTS * 2 * 12 + 4` bytes), so they fit in u16.
fn push_op(program: &mut Vec<u8>, code: u8, yes: u8, no: usize) {
    let no = u16::try_from(no).unwrap_or(u16::MAX);
    program.push(code);
    program.push(yes);
    program.extend_from_slice(&no.to_ne_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(code: u8, yes: u8, no: u16) -> Vec<u8> {
        let mut bytes = vec![code, yes];
        bytes.extend_from_slice(&no.to_ne_bytes());
        bytes
    }

    /// A straight re-implementation of `inet_diag_bc_run` restricted to the
    /// ops we emit, to check the program's meaning without a kernel.
    fn run(program: &[u8], sport: u16, dport: u16) -> bool {
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
                other => panic!("unexpected op {other}"),
            };
            let step = if holds { yes } else { no };
            pc += step;
            len -= step as i64;
        }
        len == 0
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
        let ports: Vec<u16> = (1..=MAX_FILTER_PORTS as u16).collect();
        assert!(fits_in_kernel_filter(&ports));
        let program = port_filter(&ports);
        assert_eq!(program.len(), MAX_FILTER_PORTS * 2 * CONDITION_LEN);
        assert!(program.len() + 4 <= u16::MAX as usize, "attribute length");
        assert!(audit(&program));
        assert!(run(&program, 1, 9999));
        assert!(run(&program, 9999, MAX_FILTER_PORTS as u16));
        assert!(!run(&program, 9999, 9998));
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
        let ports: Vec<u16> = (1..=(MAX_FILTER_PORTS as u16 + 1)).collect();
        assert!(!fits_in_kernel_filter(&ports));
        assert!(port_filter(&ports).is_empty());
    }
}
