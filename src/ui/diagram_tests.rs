//! Tests of the diagram panel, drawn into a buffer: empty boxes, counts,
//! notes and flashes, and a narrow area cut at the border.

use super::*;
use crate::ui::test_buffer;

fn drawn(panel: &DiagramPanel, width: u16, height: u16) -> Buffer {
    test_buffer::text(draw, panel, width, height)
}

fn quiet() -> DiagramPanel {
    DiagramPanel {
        scope: "counts for all watched ports (0)".to_string(),
        counts: StateCounts::default(),
        not_accepted: 0,
        selected: TcpState::Established,
        gained: Vec::new(),
        lit: HashSet::new(),
        notes: Vec::new(),
    }
}

/// The listen(1) scene on :10002: the queue is full, two clients just
/// sent a SYN and wait for its retry, one got in but is not accepted.
fn listen_one() -> DiagramPanel {
    let mut counts = StateCounts::default();
    counts.add(TcpState::Listen, 1);
    counts.add(TcpState::SynSent, 2);
    counts.add(TcpState::Established, 4);
    DiagramPanel {
        scope: "counts for port 10002 · a: all ports".to_string(),
        counts,
        not_accepted: 2,
        selected: TcpState::Listen,
        gained: vec![(TcpState::SynSent, 2)],
        lit: HashSet::from([(TcpState::Close, TcpState::SynSent)]),
        notes: vec![
            (
                TcpState::Listen,
                "q 2/1 FULL".to_string(),
                Attention::Critical,
            ),
            (
                TcpState::SynSent,
                "↻#3 in 3.2s".to_string(),
                Attention::Warning,
            ),
        ],
    }
}

#[test]
fn without_sockets_every_box_is_empty() {
    assert_eq!(
        drawn(&quiet(), 100, 20),
        Buffer::with_lines([
            "┌ TCP state diagram · counts for all watched ports (0) ────────────────────────────────────────────┐",
            "│┌─ SYN_SENT ──┐ connect()  ┌── CLOSED ───┐  listen()  ┌── LISTEN ───┐   recv SYN   ┌─ SYN_RECV ──┐│",
            "││      ·      │◀───────────│  no socket  │───────────▶│      ·      │─────────────▶│      ·      ││",
            "│└─────────────┘  send SYN  └─────────────┘            └─────────────┘ send SYN-ACK └─────────────┘│",
            "│       │ recv SYN-ACK                                                            recv ACK │       │",
            "│       ▼ send ACK                                                          → accept queue ▼       │",
            "│┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━ ESTABLISHED ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┓│",
            "│┃  ·  · accept() takes it out of the accept queue; the state stays                               ┃│",
            "│┗━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┛│",
            "│       │ close()    ◀ active close: this side calls close() first                recv FIN │       │",
            "│       ▼ send FIN                   passive close: the peer's FIN comes first ▶  send ACK ▼       │",
            "│┌─ FIN_WAIT1 ─┐  recv FIN  ┌── CLOSING ──┐                                         ┌ CLOSE_WAIT ─┐│",
            "││      ·      │───────────▶│      ·      │                                         │      ·      ││",
            "│└─────────────┘  send ACK  └─────────────┘                                         └─────────────┘│",
            "│       │ recv ACK                 │ recv ACK                                      close() │       │",
            "│       ▼                          ▼                                              send FIN ▼       │",
            "│┌─ FIN_WAIT2 ─┐  recv FIN  ┌─ TIME_WAIT ─┐  2MSL (60 s)               recv ACK     ┌─ LAST_ACK ──┐│",
            "││      ·      │───────────▶│      ·      │───────────────▶ CLOSED ◀────────────────│      ·      ││",
            "│└─────────────┘  send ACK  └─────────────┘     timer                               └─────────────┘│",
            "└──────────────────────────────────────────────────────────────────────────────────────────────────┘",
        ])
    );
}

#[test]
fn counts_notes_and_flashes_go_in_the_boxes() {
    let panel = listen_one();
    assert_eq!(
        drawn(&panel, 100, 9),
        Buffer::with_lines([
            "┌ TCP state diagram · counts for port 10002 · a: all ports ────────────────────────────────────────┐",
            "│┌─ SYN_SENT ──┐ connect()  ┌── CLOSED ───┐  listen()  ┏━━ LISTEN ━━━┓   recv SYN   ┌─ SYN_RECV ──┐│",
            "││    2 +2     │◀───────────│  no socket  │───────────▶┃      1      ┃─────────────▶│      ·      ││",
            "│└ ↻#3 in 3.2s ┘  send SYN  └─────────────┘            ┗ q 2/1 FULL ━┛ send SYN-ACK └─────────────┘│",
            "│       │ recv SYN-ACK                                                            recv ACK │       │",
            "│       ▼ send ACK                                                          → accept queue ▼       │",
            "│┌───────────────────────────────────────── ESTABLISHED ──────────────────────────────────────────┐│",
            "││  4  · 2 wait in the accept queue (no process yet); accept() takes them out, the state stays    ││",
            "└──────────────────────────────────────────────────────────────────────────────────────────────────┘",
        ])
    );
    // In colour, the arrow just taken is lit and the gain flashes.
    let buf = test_buffer::in_colour(draw, &panel, 100, 9);
    let theme = Theme::new(true);
    let fg = |style: Style| style.fg.unwrap_or_default();
    assert_eq!(buf[(16, 2)].symbol(), "◀");
    assert_eq!(buf[(16, 2)].fg, fg(theme.lit()));
    assert_eq!(buf[(43, 2)].symbol(), "─");
    assert_eq!(buf[(43, 2)].fg, fg(theme.arrow()));
    assert_eq!(buf[(6, 2)].symbol(), "2");
    assert_eq!(buf[(6, 2)].modifier, theme.flash().add_modifier);
}

#[test]
fn a_narrow_area_shows_the_top_left_cut_at_the_border() {
    assert_eq!(
        drawn(&listen_one(), 40, 7),
        Buffer::with_lines([
            "┌ TCP state diagram · counts for port 1┐",
            "│┌─ SYN_SENT ──┐ connect()  ┌── CLOSED │",
            "││    2 +2     │◀───────────│  no socke│",
            "│└ ↻#3 in 3.2s ┘  send SYN  └──────────│",
            "│       │ recv SYN-ACK                 │",
            "│       ▼ send ACK                     │",
            "└──────────────────────────────────────┘",
        ])
    );
}
