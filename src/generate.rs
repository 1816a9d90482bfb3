//! Shell completions and the man page, generated from the flags' own clap
//! definition (clap_complete, clap_mangen), so they can never disagree with
//! `--help`: `tcpwatch completions bash|zsh|fish|elvish|powershell` and
//! `tcpwatch man`.
//!
//! Owns: rendering them to a writer. Must not: read the kernel or the
//! terminal; the caller picks the output.

use std::io::{self, Write};

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::{Args, EXAMPLES, EXIT_CODES};

/// Writes the completion script for `shell`.
pub fn write_completions(shell: Shell, out: &mut dyn Write) -> io::Result<()> {
    let mut command = Args::command();
    let mut buffer = Vec::new();
    clap_complete::generate(shell, &mut command, "tcpwatch", &mut buffer);
    out.write_all(&buffer)
}

/// Writes the man page, `tcpwatch(1)`, in roff: clap_mangen's sections for
/// the flags and subcommands, then EXAMPLES and EXIT STATUS from the same
/// lists `--help` prints.
pub fn write_man_page(out: &mut dyn Write) -> io::Result<()> {
    let man = clap_mangen::Man::new(Args::command());
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    man.render_options_section(out)?;
    man.render_subcommands_section(out)?;
    out.write_all(b".SH EXAMPLES\n")?;
    for (command, what) in EXAMPLES {
        writeln!(
            out,
            ".TP\n\\fB{}\\fR\n{}",
            roff_text(command),
            roff_text(what)
        )?;
    }
    out.write_all(b".SH \"EXIT STATUS\"\n")?;
    for (code, meaning) in EXIT_CODES {
        writeln!(out, ".TP\n{code}\n{}", roff_text(meaning))?;
    }
    man.render_version_section(out)
}

/// Escapes text for a roff line: backslashes, minus signs (so `--port`
/// stays copyable), and a leading dot or quote.
fn roff_text(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with('.') || escaped.starts_with('\'') {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn completions(shell: Shell) -> String {
        let mut out = Vec::new();
        write_completions(shell, &mut out).expect("write to a Vec");
        String::from_utf8(out).expect("UTF-8")
    }

    #[test]
    fn completions_know_every_flag_and_subcommand() {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
            let script = completions(shell);
            for word in [
                "--port",
                "--addr",
                "--listening",
                "--ipv4",
                "--once",
                "--fail-on",
                "explain",
                "demo",
                "completions",
                "man",
            ] {
                // fish spells a long flag `-l port`.
                let spelled = match (shell, word.strip_prefix("--")) {
                    (Shell::Fish, Some(long)) => format!("-l {long}"),
                    _ => word.to_string(),
                };
                assert!(script.contains(&spelled), "{shell}: {spelled} missing");
            }
        }
        assert!(completions(Shell::Bash).contains("complete -F"));
        assert!(completions(Shell::Fish).contains("complete -c tcpwatch"));
        assert!(completions(Shell::Zsh).starts_with("#compdef tcpwatch"));
    }

    #[test]
    fn the_man_page_has_the_flags_examples_and_exit_codes() {
        let mut out = Vec::new();
        write_man_page(&mut out).expect("write to a Vec");
        let page = String::from_utf8(out).expect("UTF-8");
        assert!(page.starts_with(".ie"), "roff: {}", &page[..40]);
        assert!(page.contains(".TH tcpwatch 1"), "{page}");
        for word in [
            "\\-\\-port",
            "\\-\\-addr",
            ".SH EXAMPLES",
            "\\fBtcpwatch \\-\\-once \\-\\-for 5s \\-\\-fail\\-on warning\\fR",
            ".SH \"EXIT STATUS\"",
            "usage error",
            "\\-\\-fail\\-on",
        ] {
            assert!(page.contains(word), "man page lacks {word}");
        }
    }
}
