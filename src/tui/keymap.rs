//! Keys to actions, as data: an embedded default file, patched per mode by
//! the user's config. Help, footer hints and the palette read from here.

use std::collections::BTreeMap;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::Action;
use super::mode::Mode;

const DEFAULT_KEYMAP: &str = include_str!("keymap.toml");

/// One key with its modifiers, normalised so that `G` and `shift-g` agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    code: KeyCodeOrd,
    modifiers: u8,
}

/// `KeyCode` without the variants we never bind, in an orderable form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum KeyCodeOrd {
    Char(char),
    F(u8),
    Named(&'static str),
}

const NAMED: [(&str, KeyCode); 15] = [
    ("enter", KeyCode::Enter),
    ("esc", KeyCode::Esc),
    ("tab", KeyCode::Tab),
    ("backtab", KeyCode::BackTab),
    ("backspace", KeyCode::Backspace),
    ("delete", KeyCode::Delete),
    ("insert", KeyCode::Insert),
    ("up", KeyCode::Up),
    ("down", KeyCode::Down),
    ("left", KeyCode::Left),
    ("right", KeyCode::Right),
    ("home", KeyCode::Home),
    ("end", KeyCode::End),
    ("pageup", KeyCode::PageUp),
    ("pagedown", KeyCode::PageDown),
];

const CTRL: u8 = 1;
const ALT: u8 = 2;
const SHIFT: u8 = 4;

impl Key {
    /// Parses "ctrl-s", "G", "pagedown", "F5", "shift-tab", "space", "-".
    pub fn parse(text: &str) -> Result<Key, String> {
        let mut modifiers = 0;
        let mut rest = text;
        loop {
            let lower = rest.to_ascii_lowercase();
            let (flag, len) = if lower.starts_with("ctrl-") {
                (CTRL, 5)
            } else if lower.starts_with("alt-") {
                (ALT, 4)
            } else if lower.starts_with("shift-") {
                (SHIFT, 6)
            } else {
                break;
            };
            if rest.len() == len {
                break;
            }
            modifiers |= flag;
            rest = &rest[len..];
        }
        let lower = rest.to_ascii_lowercase();
        let code = if let Some((name, _)) = NAMED.iter().find(|(name, _)| *name == lower) {
            KeyCodeOrd::Named(name)
        } else if lower == "space" {
            KeyCodeOrd::Char(' ')
        } else if let Some(n) = lower
            .strip_prefix('f')
            .and_then(|n| n.parse::<u8>().ok())
            .filter(|n| (1..=12).contains(n))
        {
            KeyCodeOrd::F(n)
        } else {
            let mut chars = rest.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => KeyCodeOrd::Char(c),
                _ => return Err(format!("unknown key {text:?}")),
            }
        };
        Ok(Key::normalised(code, modifiers))
    }

    fn normalised(code: KeyCodeOrd, mut modifiers: u8) -> Key {
        let code = match code {
            // The character already says whether shift was held.
            KeyCodeOrd::Char(c) if modifiers & SHIFT != 0 && c.is_ascii_lowercase() => {
                modifiers &= !SHIFT;
                KeyCodeOrd::Char(c.to_ascii_uppercase())
            }
            KeyCodeOrd::Named("tab") if modifiers & SHIFT != 0 => {
                modifiers &= !SHIFT;
                KeyCodeOrd::Named("backtab")
            }
            other => other,
        };
        if matches!(code, KeyCodeOrd::Char(_) | KeyCodeOrd::Named("backtab")) {
            modifiers &= !SHIFT;
        }
        Key { code, modifiers }
    }

    pub fn from_event(event: &KeyEvent) -> Option<Key> {
        let code = match event.code {
            KeyCode::Char(c) => KeyCodeOrd::Char(c),
            KeyCode::F(n) => KeyCodeOrd::F(n),
            other => KeyCodeOrd::Named(NAMED.iter().find(|(_, code)| *code == other)?.0),
        };
        let mut modifiers = 0;
        if event.modifiers.contains(KeyModifiers::CONTROL) {
            modifiers |= CTRL;
        }
        if event.modifiers.contains(KeyModifiers::ALT) {
            modifiers |= ALT;
        }
        if event.modifiers.contains(KeyModifiers::SHIFT) {
            modifiers |= SHIFT;
        }
        Some(Key::normalised(code, modifiers))
    }

    /// How the key is written in help and hints.
    pub fn label(&self) -> String {
        let mut label = String::new();
        for (flag, name) in [(CTRL, "ctrl-"), (ALT, "alt-"), (SHIFT, "shift-")] {
            if self.modifiers & flag != 0 {
                label.push_str(name);
            }
        }
        match self.code {
            KeyCodeOrd::Char(' ') => label.push_str("space"),
            KeyCodeOrd::Char(c) => label.push(c),
            KeyCodeOrd::F(n) => label.push_str(&format!("F{n}")),
            KeyCodeOrd::Named(name) => label.push_str(name),
        }
        label
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeymapError {
    #[error("keymap is not valid TOML: {0}")]
    Parse(#[from] toml::de::Error),
    #[error("keymap [{mode}] {key:?}: {message}")]
    Binding {
        mode: String,
        key: String,
        message: String,
    },
}

/// Mode -> key -> action; the text form (`[mode] "key" = "action"`) is what
/// the default file and user configs hold.
pub type KeymapPatch = BTreeMap<Mode, BTreeMap<String, String>>;

#[derive(Debug, Clone)]
pub struct Keymap {
    modes: BTreeMap<Mode, BTreeMap<Key, Action>>,
}

impl Keymap {
    pub fn default_keymap() -> Keymap {
        // Covered by a unit test, so it cannot fail at run time.
        Keymap::from_toml(DEFAULT_KEYMAP)
            .unwrap_or_else(|err| unreachable!("embedded keymap is invalid: {err}"))
    }

    pub fn from_toml(text: &str) -> Result<Keymap, KeymapError> {
        let patch: KeymapPatch = toml::from_str(text)?;
        let mut keymap = Keymap {
            modes: Mode::ALL
                .into_iter()
                .map(|mode| (mode, BTreeMap::new()))
                .collect(),
        };
        keymap.patch(&patch)?;
        Ok(keymap)
    }

    /// Applies user bindings on top; `"none"` unbinds a key.
    pub fn patch(&mut self, patch: &KeymapPatch) -> Result<(), KeymapError> {
        for (mode, bindings) in patch {
            for (key_text, action_text) in bindings {
                let error = |message: String| KeymapError::Binding {
                    mode: mode.name().to_owned(),
                    key: key_text.clone(),
                    message,
                };
                let key = Key::parse(key_text).map_err(error)?;
                let action: Action =
                    serde_json::from_value(serde_json::Value::from(action_text.as_str()))
                        .map_err(|_| error(format!("unknown action {action_text:?}")))?;
                let map = self.modes.entry(*mode).or_default();
                if action == Action::None {
                    map.remove(&key);
                } else {
                    map.insert(key, action);
                }
            }
        }
        Ok(())
    }

    /// The action a key press means in `mode` (global bindings apply in
    /// modes that do not take text).
    pub fn action(&self, mode: Mode, event: &KeyEvent) -> Option<Action> {
        let key = Key::from_event(event)?;
        let in_mode = self.modes.get(&mode).and_then(|map| map.get(&key)).copied();
        in_mode.or_else(|| {
            (!mode.takes_text())
                .then(|| {
                    self.modes
                        .get(&Mode::Global)
                        .and_then(|map| map.get(&key))
                        .copied()
                })
                .flatten()
        })
    }

    /// Every binding that works in `mode`: (keys, action), in action order.
    pub fn bindings(&self, mode: Mode) -> Vec<(Vec<String>, Action)> {
        let mut modes = vec![mode];
        if !mode.takes_text() && mode != Mode::Global {
            modes.push(Mode::Global);
        }
        self.bindings_in(&modes)
    }

    /// The bindings of `mode` itself, without the global ones.
    pub fn own_bindings(&self, mode: Mode) -> Vec<(Vec<String>, Action)> {
        self.bindings_in(&[mode])
    }

    fn bindings_in(&self, modes: &[Mode]) -> Vec<(Vec<String>, Action)> {
        let mut by_action: Vec<(Vec<String>, Action)> = Vec::new();
        for mode in modes {
            for (key, action) in self.modes.get(mode).into_iter().flatten() {
                match by_action
                    .iter_mut()
                    .find(|(_, existing)| existing == action)
                {
                    Some((keys, _)) => keys.push(key.label()),
                    None => by_action.push((vec![key.label()], *action)),
                }
            }
        }
        let rank = |action: &Action| {
            Action::DESCRIBED
                .iter()
                .position(|(a, _)| a == action)
                .unwrap_or(usize::MAX)
        };
        by_action.sort_by_key(|(_, action)| rank(action));
        for (keys, _) in &mut by_action {
            keys.sort_by_key(|label| (label.chars().count(), label.clone()));
        }
        by_action
    }

    /// The key to show for an action in `mode`: enter or esc when bound
    /// (everyone knows them), else the shortest.
    pub fn hint(&self, mode: Mode, action: Action) -> Option<String> {
        let keys = self
            .bindings(mode)
            .into_iter()
            .find(|(_, bound)| *bound == action)?
            .0;
        keys.iter()
            .find(|key| *key == "enter" || *key == "esc")
            .or(keys.first())
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn keys_parse_and_print() {
        for text in [
            "q", "G", "ctrl-s", "alt-x", "pagedown", "F5", "space", "-", "backtab", "?",
        ] {
            assert_eq!(Key::parse(text).unwrap().label(), text);
        }
        assert_eq!(Key::parse("shift-g").unwrap(), Key::parse("G").unwrap());
        assert_eq!(
            Key::parse("shift-tab").unwrap(),
            Key::parse("backtab").unwrap()
        );
        assert_eq!(Key::parse("Ctrl-S").unwrap().label(), "ctrl-S");
        assert!(Key::parse("hyper-q").is_err());
        assert!(Key::parse("F13").is_err());
        assert!(Key::parse("").is_err());
    }

    #[test]
    fn events_match_bindings_whatever_the_terminal_reports_for_shift() {
        let keymap = Keymap::default_keymap();
        let shifted_g = press(KeyCode::Char('G'), KeyModifiers::SHIFT);
        assert_eq!(keymap.action(Mode::Queue, &shifted_g), Some(Action::Last));
        let plain_g = press(KeyCode::Char('G'), KeyModifiers::NONE);
        assert_eq!(keymap.action(Mode::Queue, &plain_g), Some(Action::Last));
        let backtab = press(KeyCode::BackTab, KeyModifiers::SHIFT);
        assert_eq!(
            keymap.action(Mode::Queue, &backtab),
            Some(Action::PreviousTab)
        );
    }

    #[test]
    fn vim_keys_and_arrows_both_move() {
        let keymap = Keymap::default_keymap();
        for code in [KeyCode::Char('j'), KeyCode::Down] {
            assert_eq!(
                keymap.action(Mode::Queue, &press(code, KeyModifiers::NONE)),
                Some(Action::Down)
            );
        }
        for code in [KeyCode::Char('k'), KeyCode::Up] {
            assert_eq!(
                keymap.action(Mode::Queue, &press(code, KeyModifiers::NONE)),
                Some(Action::Up)
            );
        }
    }

    #[test]
    fn global_keys_stay_out_of_text_modes() {
        let keymap = Keymap::default_keymap();
        let q = press(KeyCode::Char('q'), KeyModifiers::NONE);
        assert_eq!(keymap.action(Mode::Queue, &q), Some(Action::Quit));
        assert_eq!(
            keymap.action(Mode::Dialog, &q),
            None,
            "q types a q in a comment"
        );
        let save = press(KeyCode::Char('s'), KeyModifiers::CONTROL);
        assert_eq!(keymap.action(Mode::Dialog, &save), Some(Action::Confirm));
    }

    #[test]
    fn user_patches_rebind_and_unbind_per_mode() {
        let mut keymap = Keymap::default_keymap();
        let patch: KeymapPatch =
            toml::from_str("[queue]\n\"y\" = \"approve\"\n\"a\" = \"none\"\n").unwrap();
        keymap.patch(&patch).unwrap();
        let y = press(KeyCode::Char('y'), KeyModifiers::NONE);
        let a = press(KeyCode::Char('a'), KeyModifiers::NONE);
        assert_eq!(keymap.action(Mode::Queue, &y), Some(Action::Approve));
        assert_eq!(keymap.action(Mode::Queue, &a), None);
        assert_eq!(
            keymap.action(Mode::Workflow, &a),
            Some(Action::Approve),
            "other modes untouched"
        );
        let bad: KeymapPatch = toml::from_str("[queue]\n\"y\" = \"launch_missiles\"\n").unwrap();
        assert!(
            keymap
                .patch(&bad)
                .unwrap_err()
                .to_string()
                .contains("unknown action \"launch_missiles\"")
        );
        assert!(toml::from_str::<KeymapPatch>("[nowhere]\n\"y\" = \"quit\"\n").is_err());
    }

    #[test]
    fn help_and_hints_come_from_the_same_bindings() {
        let keymap = Keymap::default_keymap();
        let bindings = keymap.bindings(Mode::Queue);
        let down = bindings
            .iter()
            .find(|(_, action)| *action == Action::Down)
            .unwrap();
        assert_eq!(down.0, ["j", "down"]);
        assert!(
            bindings.iter().any(|(_, action)| *action == Action::Quit),
            "global keys are listed too"
        );
        assert_eq!(
            keymap.hint(Mode::Queue, Action::Approve).as_deref(),
            Some("a")
        );
        assert_eq!(
            keymap.hint(Mode::Queue, Action::Open).as_deref(),
            Some("enter")
        );
        assert_eq!(
            keymap.hint(Mode::Workflow, Action::Back).as_deref(),
            Some("esc")
        );
        assert_eq!(
            keymap.hint(Mode::Dialog, Action::Confirm).as_deref(),
            Some("ctrl-s")
        );
        assert_eq!(keymap.hint(Mode::Dialog, Action::Quit), None);
    }
}
