//! Themes: named roles resolved to styles. Widgets ask for a `Role`; a theme
//! file maps roles to colours and modifiers; a role a theme leaves out falls
//! back along a chain ending at `base`.

use std::collections::HashMap;
use std::path::Path;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

/// What a piece of the screen means, not how it looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Base,
    Muted,
    Accent,
    Title,
    Border,
    Header,
    Selection,
    Ok,
    Warn,
    Danger,
    Info,
    Key,
    TabActive,
    Input,
    Chart1,
    Chart2,
    Chart3,
}

impl Role {
    pub const ALL: [Role; 17] = [
        Role::Base,
        Role::Muted,
        Role::Accent,
        Role::Title,
        Role::Border,
        Role::Header,
        Role::Selection,
        Role::Ok,
        Role::Warn,
        Role::Danger,
        Role::Info,
        Role::Key,
        Role::TabActive,
        Role::Input,
        Role::Chart1,
        Role::Chart2,
        Role::Chart3,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Role::Base => "base",
            Role::Muted => "muted",
            Role::Accent => "accent",
            Role::Title => "title",
            Role::Border => "border",
            Role::Header => "header",
            Role::Selection => "selection",
            Role::Ok => "ok",
            Role::Warn => "warn",
            Role::Danger => "danger",
            Role::Info => "info",
            Role::Key => "key",
            Role::TabActive => "tab_active",
            Role::Input => "input",
            Role::Chart1 => "chart_1",
            Role::Chart2 => "chart_2",
            Role::Chart3 => "chart_3",
        }
    }

    /// The role to use when a theme does not define this one.
    fn fallback(self) -> Option<Role> {
        match self {
            Role::Base => None,
            Role::Muted | Role::Accent | Role::Ok | Role::Warn | Role::Danger | Role::Input => {
                Some(Role::Base)
            }
            Role::Title | Role::Key | Role::Info | Role::Chart1 => Some(Role::Accent),
            Role::Border => Some(Role::Muted),
            Role::Header => Some(Role::Base),
            Role::Selection | Role::TabActive => Some(Role::Accent),
            Role::Chart2 => Some(Role::Warn),
            Role::Chart3 => Some(Role::Ok),
        }
    }

    /// How the role looks without colour (NO_COLOR): still distinguishable.
    fn monochrome(self) -> Style {
        let style = Style::default();
        match self {
            Role::Base | Role::Border | Role::Info | Role::Chart1 | Role::Chart2 | Role::Chart3 => {
                style
            }
            Role::Muted => style.add_modifier(Modifier::DIM),
            Role::Accent | Role::Title | Role::Header | Role::Key | Role::Ok => {
                style.add_modifier(Modifier::BOLD)
            }
            Role::Warn => style.add_modifier(Modifier::UNDERLINED),
            Role::Danger => style.add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            Role::Selection | Role::TabActive | Role::Input => {
                style.add_modifier(Modifier::REVERSED)
            }
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleSpec {
    fg: Option<String>,
    bg: Option<String>,
    #[serde(default)]
    bold: bool,
    #[serde(default)]
    italic: bool,
    #[serde(default)]
    underlined: bool,
    #[serde(default)]
    dim: bool,
    #[serde(default)]
    reversed: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    name: String,
    #[serde(default)]
    roles: HashMap<String, RoleSpec>,
}

#[derive(Debug, thiserror::Error)]
pub enum ThemeError {
    #[error("theme file {file}: {message}")]
    Invalid { file: String, message: String },
    #[error("no theme named {name:?} (built in: {builtin}; or put {name}.toml in {dir})")]
    Unknown {
        name: String,
        builtin: String,
        dir: String,
    },
}

/// The built-in themes, embedded at build time.
pub const BUILTIN: [(&str, &str); 4] = [
    ("default", include_str!("../../themes/default.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
    ("colorblind", include_str!("../../themes/colorblind.toml")),
];

#[derive(Debug, Clone)]
pub struct Theme {
    pub name: String,
    styles: HashMap<Role, Style>,
    pub monochrome: bool,
}

impl Theme {
    /// Parses a theme file; errors name the file and the line.
    pub fn parse(file: &str, text: &str) -> Result<Theme, ThemeError> {
        let invalid = |message: String| ThemeError::Invalid {
            file: file.to_owned(),
            message,
        };
        let parsed: ThemeFile = toml::from_str(text).map_err(|err| {
            let line = err
                .span()
                .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1);
            match line {
                Some(line) => invalid(format!("line {line}: {}", err.message())),
                None => invalid(err.message().to_owned()),
            }
        })?;
        let mut specified = HashMap::new();
        for (name, spec) in &parsed.roles {
            let role = Role::ALL
                .into_iter()
                .find(|role| role.name() == name)
                .ok_or_else(|| {
                    invalid(format!(
                        "unknown role {name:?} (roles: {})",
                        Role::ALL.map(Role::name).join(", ")
                    ))
                })?;
            specified.insert(
                role,
                style_of(spec).map_err(|message| invalid(format!("role {name}: {message}")))?,
            );
        }
        let styles = Role::ALL
            .into_iter()
            .map(|role| {
                let mut at = Some(role);
                while let Some(current) = at {
                    if let Some(style) = specified.get(&current) {
                        return (role, *style);
                    }
                    at = current.fallback();
                }
                (role, Style::default())
            })
            .collect();
        Ok(Theme {
            name: parsed.name,
            styles,
            monochrome: false,
        })
    }

    /// A theme by name: a user file in `user_dir` overrides a built-in one.
    pub fn load(name: &str, user_dir: Option<&Path>) -> Result<Theme, ThemeError> {
        if let Some(dir) = user_dir {
            let path = dir.join(format!("{name}.toml"));
            if let Ok(text) = std::fs::read_to_string(&path) {
                return Theme::parse(&path.display().to_string(), &text);
            }
        }
        let (_, text) = BUILTIN
            .iter()
            .find(|(builtin, _)| *builtin == name)
            .ok_or_else(|| ThemeError::Unknown {
                name: name.to_owned(),
                builtin: BUILTIN.map(|(name, _)| name).join(", "),
                dir: user_dir.map_or("the config directory's themes/".into(), |dir| {
                    dir.display().to_string()
                }),
            })?;
        Theme::parse(&format!("themes/{name}.toml (built in)"), text)
    }

    /// The same roles with no colour at all, for NO_COLOR.
    pub fn monochrome() -> Theme {
        Theme {
            name: "monochrome".into(),
            styles: Role::ALL
                .into_iter()
                .map(|role| (role, role.monochrome()))
                .collect(),
            monochrome: true,
        }
    }

    pub fn style(&self, role: Role) -> Style {
        self.styles.get(&role).copied().unwrap_or_default()
    }
}

fn parse_color(text: &str) -> Result<Color, String> {
    text.parse::<Color>().map_err(|_| {
        format!("{text:?} is not a colour (a name like \"red\", \"#rrggbb\", or 0-255)")
    })
}

fn style_of(spec: &RoleSpec) -> Result<Style, String> {
    let mut style = Style::default();
    if let Some(fg) = &spec.fg {
        style = style.fg(parse_color(fg)?);
    }
    if let Some(bg) = &spec.bg {
        style = style.bg(parse_color(bg)?);
    }
    let modifiers = [
        (spec.bold, Modifier::BOLD),
        (spec.italic, Modifier::ITALIC),
        (spec.underlined, Modifier::UNDERLINED),
        (spec.dim, Modifier::DIM),
        (spec.reversed, Modifier::REVERSED),
    ];
    for (on, modifier) in modifiers {
        if on {
            style = style.add_modifier(modifier);
        }
    }
    Ok(style)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A theme of dark text paints its own background, or it is unreadable
    /// on a dark terminal (issue 35).
    #[test]
    fn the_light_theme_paints_its_background() {
        let (name, text) = BUILTIN
            .iter()
            .find(|(name, _)| *name == "light")
            .expect("a light theme");
        let theme = Theme::parse(name, text).expect("parses");
        assert!(theme.style(Role::Base).bg.is_some());
    }

    #[test]
    fn every_builtin_theme_parses_and_defines_the_core_roles() {
        for (name, text) in BUILTIN {
            let theme = Theme::parse(name, text).unwrap_or_else(|err| panic!("{err}"));
            assert_eq!(theme.name, name);
            for role in [
                Role::Base,
                Role::Selection,
                Role::Ok,
                Role::Warn,
                Role::Danger,
            ] {
                assert_ne!(
                    theme.style(role),
                    Style::default(),
                    "{name}: {}",
                    role.name()
                );
            }
        }
    }

    #[test]
    fn missing_roles_fall_back_along_the_chain() {
        let theme =
            Theme::parse("t", "name = \"t\"\n[roles]\naccent = { fg = \"red\" }\n").unwrap();
        assert_eq!(
            theme.style(Role::Title).fg,
            Some(Color::Red),
            "title -> accent"
        );
        assert_eq!(theme.style(Role::Key).fg, Some(Color::Red), "key -> accent");
        assert_eq!(
            theme.style(Role::Border),
            Style::default(),
            "border -> muted -> base (empty)"
        );
    }

    #[test]
    fn a_broken_theme_names_the_file_and_line() {
        let err =
            Theme::parse("mine.toml", "name = \"x\"\n[roles]\nbase = { fg = 12\n").unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("theme file mine.toml: line 3"), "{text}");
        let err = Theme::parse(
            "mine.toml",
            "name = \"x\"\n[roles]\nbase = { fg = \"not-a-colour\" }\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("is not a colour"), "{err}");
        let err = Theme::parse(
            "mine.toml",
            "name = \"x\"\n[roles]\nsparkle = { fg = \"red\" }\n",
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("unknown role \"sparkle\""),
            "{err}"
        );
    }

    #[test]
    fn user_themes_override_builtins_by_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("light.toml"),
            "name = \"light\"\n[roles]\nbase = { fg = \"magenta\" }\n",
        )
        .unwrap();
        let theme = Theme::load("light", Some(dir.path())).unwrap();
        assert_eq!(theme.style(Role::Base).fg, Some(Color::Magenta));
        assert!(
            Theme::load("nope", Some(dir.path()))
                .unwrap_err()
                .to_string()
                .contains("built in: default, light")
        );
    }

    #[test]
    fn monochrome_keeps_selection_and_status_visible() {
        let theme = Theme::monochrome();
        for role in Role::ALL {
            let style = theme.style(role);
            assert_eq!((style.fg, style.bg), (None, None), "{}", role.name());
        }
        assert!(
            theme
                .style(Role::Selection)
                .add_modifier
                .contains(Modifier::REVERSED)
        );
        assert_ne!(theme.style(Role::Danger), theme.style(Role::Ok));
        assert_ne!(theme.style(Role::Warn), theme.style(Role::Base));
    }
}
