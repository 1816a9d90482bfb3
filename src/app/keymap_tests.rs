use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::*;

fn press(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

/// The keys a label names: `"↑↓"`, `"PgUp/PgDn"`, `"q, Ctrl-C"`, `"[ ] / - +"`…
fn named_keys(label: &str) -> Vec<KeyEvent> {
    if label == "/" {
        return vec![press(KeyCode::Char('/'))];
    }
    let mut keys = Vec::new();
    for token in label.split([' ', '/']).filter(|t| !t.is_empty()) {
        let token = if token.len() > 1 {
            token.trim_end_matches(',')
        } else {
            token
        };
        let named = match token {
            "PgUp" => Some(KeyCode::PageUp),
            "PgDn" => Some(KeyCode::PageDown),
            "Home" => Some(KeyCode::Home),
            "End" => Some(KeyCode::End),
            "Tab" => Some(KeyCode::Tab),
            "Shift-Tab" => Some(KeyCode::BackTab),
            "Esc" => Some(KeyCode::Esc),
            "Enter" | "⏎" => Some(KeyCode::Enter),
            "Space" | "space" => Some(KeyCode::Char(' ')),
            "F1" => Some(KeyCode::F(1)),
            _ => None,
        };
        if let Some(code) = named {
            keys.push(press(code));
            continue;
        }
        if let Some(c) = token.strip_prefix("Ctrl-") {
            let c = c.chars().next().expect("a key after Ctrl-");
            keys.push(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL));
            continue;
        }
        for c in token.chars() {
            keys.push(press(match c {
                '↑' => KeyCode::Up,
                '↓' => KeyCode::Down,
                '←' => KeyCode::Left,
                '→' => KeyCode::Right,
                other => KeyCode::Char(other),
            }));
        }
    }
    keys
}

/// A screen on which the keys of `context` are live.
fn screen_of(context: Context) -> Screen {
    match context {
        Context::Global => Screen::Dashboard,
        Context::Diagram => Screen::Diagram,
        Context::Lists => Screen::Connections,
        Context::Filter => Screen::Filter,
        Context::Replay => Screen::Replay,
        Context::Namespaces => Screen::Namespaces,
        Context::Demo => Screen::Demo,
    }
}

fn commands(binding: &Binding) -> Vec<Command> {
    binding.keys.iter().map(|(_, c)| *c).collect()
}

#[test]
fn every_footer_hint_resolves_to_its_binding() {
    for binding in BINDINGS {
        for hint in binding.hints {
            assert!(
                hint.screen.contexts().contains(&binding.context),
                "hint {:?} on {:?}: its binding ({:?}) is not live there",
                hint.key,
                hint.screen,
                binding.context
            );
            let keys = named_keys(hint.key);
            assert!(!keys.is_empty(), "hint {:?} names no key", hint.key);
            for key in keys {
                let command = command_for(&key, hint.screen);
                assert!(
                    command.is_some_and(|c| commands(binding).contains(&c)),
                    "hint {:?} on {:?}: {key:?} sends {command:?}, not what {:?} does",
                    hint.key,
                    hint.screen,
                    binding.label
                );
            }
        }
    }
}

#[test]
fn every_key_a_help_label_names_does_what_the_help_says() {
    for binding in BINDINGS.iter().filter(|b| !b.label.is_empty()) {
        let screen = screen_of(binding.context);
        let keys = named_keys(binding.label);
        assert!(!keys.is_empty(), "label {:?} names no key", binding.label);
        for key in keys {
            let command = command_for(&key, screen);
            assert!(
                command.is_some_and(|c| commands(binding).contains(&c)),
                "{:?} on {screen:?}: {key:?} sends {command:?}",
                binding.label
            );
        }
    }
}

#[test]
fn each_screen_ranks_its_hints_once_each() {
    for screen in Screen::ALL {
        let mut ranks: Vec<u8> = BINDINGS
            .iter()
            .flat_map(|b| b.hints.iter())
            .filter(|h| h.screen == screen)
            .map(|h| h.rank)
            .collect();
        ranks.sort_unstable();
        let expected: Vec<u8> = (0..).take(ranks.len()).collect();
        assert_eq!(ranks, expected, "{screen:?}");
    }
}

#[test]
fn no_key_is_bound_twice_in_one_context() {
    let contexts = [
        Context::Global,
        Context::Diagram,
        Context::Lists,
        Context::Filter,
        Context::Replay,
        Context::Namespaces,
        Context::Demo,
    ];
    for context in contexts {
        let keys: Vec<Key> = BINDINGS
            .iter()
            .filter(|b| b.context == context)
            .flat_map(|b| b.keys.iter().map(|(k, _)| *k))
            .collect();
        for (i, key) in keys.iter().enumerate() {
            assert!(
                !keys[i + 1..].contains(key),
                "{key:?} is bound twice in {context:?}"
            );
        }
    }
}

/// A context consulted first may take a key the dashboard also binds; only
/// the replay's player gives such a key another meaning (space plays the
/// recording rather than pausing the dashboard).
#[test]
fn only_the_replay_reassigns_a_dashboard_key() {
    for screen in Screen::ALL {
        let contexts = screen.contexts();
        for (i, upper) in contexts.iter().enumerate() {
            for lower in &contexts[i + 1..] {
                let lower_keys: Vec<(Key, Command)> = BINDINGS
                    .iter()
                    .filter(|b| b.context == *lower)
                    .flat_map(|b| b.keys.iter().copied())
                    .collect();
                let upper_keys = BINDINGS
                    .iter()
                    .filter(|b| b.context == *upper)
                    .flat_map(|b| b.keys.iter().copied());
                for (key, command) in upper_keys {
                    let shadowed = lower_keys.iter().find(|(k, _)| *k == key);
                    if let Some((_, other)) = shadowed
                        && *other != command
                    {
                        assert_eq!(
                            *upper,
                            Context::Replay,
                            "{key:?}: {command:?} in {upper:?} hides {other:?} in {lower:?}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn only_the_filter_text_goes_without_help() {
    for binding in BINDINGS {
        let typing = binding.keys.iter().any(|(k, _)| *k == Key::AnyChar);
        assert_eq!(
            binding.help.is_empty(),
            typing,
            "{:?} in {:?}",
            binding.label,
            binding.context
        );
    }
}

/// The footers as they were hand-kept before the table: the screens must
/// not change.
#[test]
fn the_footers_read_as_before() {
    let footer = |screen| -> Vec<String> {
        hints_for(screen)
            .iter()
            .map(|(k, a)| format!("{k} {a}"))
            .collect()
    };
    assert_eq!(
        footer(Screen::Dashboard),
        [
            "q quit",
            "↑↓ select",
            "⏎ conns",
            "d diagram",
            "s sort",
            "/ filter",
            "p pause",
            "+- interval",
            "Tab panel",
            "c clear",
            "? help"
        ]
    );
    assert_eq!(
        footer(Screen::Diagram),
        [
            "q quit",
            "←↑↓→ state",
            "? explain",
            "a scope",
            "PgUp/PgDn log",
            "d dashboard",
            "p pause",
            "c clear log",
            "H help"
        ]
    );
    assert_eq!(
        footer(Screen::Processes),
        [
            "Esc back",
            "↑↓ select",
            "⏎ its sockets",
            "s/S sort column",
            "I reverse",
            "p pause",
            "q quit",
            "? help"
        ]
    );
    assert_eq!(
        footer(Screen::Connections),
        [
            "Esc back",
            "↑↓ scroll",
            "s/S sort column",
            "I reverse",
            "PgUp/PgDn page",
            "/ filter",
            "p pause",
            "+- interval",
            "d diagram",
            "q quit",
            "? help"
        ]
    );
    assert_eq!(footer(Screen::Filter), ["Enter keep", "Esc clear"]);
}

#[test]
fn typing_a_filter_takes_every_character_but_ctrl_c_still_quits() {
    let typed = |c| command_for(&press(KeyCode::Char(c)), Screen::Filter);
    assert_eq!(typed('q'), Some(Command::FilterChar('q')));
    assert_eq!(typed('/'), Some(Command::FilterChar('/')));
    let ctrl = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL);
    assert_eq!(command_for(&ctrl('c'), Screen::Filter), Some(Command::Quit));
    assert_eq!(
        command_for(&ctrl('u'), Screen::Filter),
        Some(Command::FilterErase)
    );
    assert_eq!(
        command_for(&press(KeyCode::Enter), Screen::Filter),
        Some(Command::FilterConfirm)
    );
}

#[test]
fn shifted_letters_and_releases() {
    let shifted = KeyEvent::new(KeyCode::Char('S'), KeyModifiers::SHIFT);
    assert_eq!(
        command_for(&shifted, Screen::Dashboard),
        Some(Command::SortPrevious)
    );
    let mut released = press(KeyCode::Char('q'));
    released.kind = KeyEventKind::Release;
    assert_eq!(command_for(&released, Screen::Dashboard), None);
    let ctrl_d = KeyEvent::new(KeyCode::Char('d'), KeyModifiers::CONTROL);
    assert_eq!(
        command_for(&ctrl_d, Screen::Dashboard),
        Some(Command::PageDown)
    );
}

#[test]
fn the_replay_takes_its_keys_before_the_dashboard() {
    let space = press(KeyCode::Char(' '));
    assert_eq!(
        command_for(&space, Screen::Replay),
        Some(Command::Replay(ReplayCommand::PlayPause))
    );
    assert_eq!(
        command_for(&space, Screen::Dashboard),
        Some(Command::TogglePause)
    );
    assert_eq!(
        command_for(&press(KeyCode::Char('d')), Screen::Replay),
        Some(Command::ToggleDiagram)
    );
}

#[test]
fn the_demo_takes_its_keys_before_the_view() {
    let demo = |c| command_for(&press(KeyCode::Char(c)), Screen::Demo);
    assert_eq!(demo(' '), Some(Command::Demo(DemoControl::TogglePause)));
    assert_eq!(demo('p'), Some(Command::Demo(DemoControl::TogglePause)));
    assert_eq!(demo('n'), Some(Command::Demo(DemoControl::Next)));
    assert_eq!(demo('.'), Some(Command::Demo(DemoControl::Next)));
    assert_eq!(demo('b'), Some(Command::Demo(DemoControl::Previous)));
    assert_eq!(demo(','), Some(Command::Demo(DemoControl::Previous)));
    assert_eq!(demo('q'), None, "the rest goes to the view");
    for c in ['n', 'b', '.', ','] {
        assert_eq!(
            command_for(&press(KeyCode::Char(c)), Screen::Dashboard),
            None,
            "{c} is free on the dashboard, so the demo hides nothing"
        );
    }
}

/// The keys panel titles and notes name (`· Esc back`, `p resumes`…).
#[test]
fn the_keys_named_in_titles_come_from_the_table() {
    assert_eq!(key_for(Screen::Dashboard, Command::Open), "⏎");
    assert_eq!(key_for(Screen::Dashboard, Command::ClearAlertLog), "c");
    assert_eq!(key_for(Screen::Dashboard, Command::TogglePause), "p");
    assert_eq!(key_for(Screen::Dashboard, Command::Back), "Esc");
    assert_eq!(key_for(Screen::Connections, Command::Back), "Esc");
    assert_eq!(key_for(Screen::Processes, Command::Open), "⏎");
    assert_eq!(key_for(Screen::Processes, Command::Back), "Esc");
    assert_eq!(key_for(Screen::Diagram, Command::ClearAlertLog), "c");
    assert_eq!(key_for(Screen::Dashboard, Command::ToggleScope), "");
}
