//! Drawing a frame: the tab bar, the screen, the status line and the footer.

use super::super::action::Action;
use super::super::screens::queue_view::{self, QueueContext};
use super::super::tab::Tab;
use super::super::theme::Role;
use super::super::widgets::chrome::{self};
use super::*;
use ratatui::Frame;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

impl App {
    pub(super) fn status_left(&self) -> String {
        let who = match &self.me {
            Some(user) => {
                let roles: Vec<_> = user.roles.iter().map(|role| role.label()).collect();
                format!("{} ({})", user.email, roles.join(", "))
            }
            None => "signing in…".to_owned(),
        };
        let state = match &self.sync {
            Some(sync) => sync.describe(self.now),
            None => self.config.sync_state.clone(),
        };
        // The sync state first: on a narrow terminal (or beside a message)
        // the end of the line is what gets cut. A witness warning goes
        // before everything: it is the one thing that must not be missed.
        let unread = match self.unread {
            0 => String::new(),
            n => format!(" · {n} unread ({})", self.key_for(Action::Inbox)),
        };
        let witness = self.config.witness_warning.as_ref().or(self
            .sync
            .as_ref()
            .and_then(|sync| sync.witness_warning.as_ref()));
        match witness {
            Some(warning) => format!(
                "⚠ LOG NOT VERIFIED: {} · {state}{unread} · {who} · {}",
                crate::text::sanitize(warning),
                self.config.location
            ),
            None => format!("{state}{unread} · {who} · {}", self.config.location),
        }
    }

    pub fn draw(&self, frame: &mut Frame) {
        let area = frame.area();
        let theme = &self.config.theme;
        frame.render_widget(Paragraph::new("").style(theme.style(Role::Base)), area);
        if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
            let text = format!(
                "terminal too small: {}x{} (need {MIN_WIDTH}x{MIN_HEIGHT})",
                area.width, area.height
            );
            frame.render_widget(
                Paragraph::new(Line::styled(text, theme.style(Role::Warn)))
                    .wrap(ratatui::widgets::Wrap { trim: true }),
                area,
            );
            return;
        }
        let (tabs, main, footer, status) = frame_areas(area);
        chrome::tabs(frame, tabs, self.tab.index(), theme);
        match (self.tab, &self.detail) {
            (Tab::Reviews, _) => self.reviews.render(
                frame,
                main,
                theme,
                self.now,
                self.spinner(),
                &self.unconfirmed,
            ),
            (Tab::Audits, _) => self.audits.render(frame, main, theme, self.spinner()),
            (Tab::Blocked, _) => self
                .blocked
                .render(frame, main, theme, self.now, self.spinner()),
            (Tab::Policies, _) => {
                self.policies
                    .render(frame, main, &self.config.keymap, theme, self.spinner())
            }
            (Tab::Queue, Some(detail)) => {
                let unconfirmed = self.unconfirmed.contains(&detail.workflow_id);
                detail.render(frame, main, theme, self.now, self.spinner(), unconfirmed)
            }
            (Tab::Queue, None) => {
                let context = QueueContext {
                    theme,
                    now: self.now,
                    sla_days: self.config.sla_days,
                    spinner: self.spinner(),
                    preview: self
                        .queue
                        .selected_item()
                        .and_then(|item| self.previews.get(&item.workflow_id)),
                    unconfirmed: &self.unconfirmed,
                    refused: &self.refused,
                    first_sync: self
                        .sync
                        .as_ref()
                        .is_some_and(|sync| sync.full_sync.is_some()),
                    assigns_reviews: self
                        .queue
                        .roles
                        .contains(&crate::domain::Role::ComplianceOfficer),
                };
                queue_view::render(&self.queue, frame, main, &context);
            }
        }
        let mode = self.mode();
        let hints = crate::tui::hints::for_mode(mode);
        chrome::footer(
            frame,
            footer,
            &self.config.keymap,
            mode,
            hints,
            self.config.read_only,
            theme,
        );
        chrome::status(
            frame,
            status,
            &self.status_left(),
            self.status
                .as_ref()
                .map(|(level, text)| (level, text.as_str())),
            theme,
        );
        match &self.overlay {
            Some(Overlay::Help(help)) => help.render(frame, main, &self.config.keymap, theme),
            Some(Overlay::Palette(palette)) => {
                palette.render(frame, main, &self.config.keymap, self.screen_mode(), theme)
            }
            Some(Overlay::Prompt(prompt)) => prompt.render(frame, footer, theme),
            Some(Overlay::Decide(dialog)) => dialog.render(frame, area, &self.config.keymap, theme),
            Some(Overlay::Choose(chooser)) => chooser.render(frame, main, theme),
            Some(Overlay::Inbox(inbox)) => inbox.render(frame, main, self.now, theme),
            Some(Overlay::Delegations(overlay)) => overlay.render(
                frame,
                main,
                &self.delegations,
                self.me.as_ref().map(|me| me.email.as_str()),
                self.now,
                theme,
            ),
            Some(Overlay::Obligations(overlay)) => overlay.render(frame, main, theme),
            Some(Overlay::Exceptions(overlay)) => overlay.render(frame, main, self.now, theme),
            Some(Overlay::Incidents(overlay)) => overlay.render(frame, main, self.now, theme),
            Some(Overlay::Recertifications(overlay)) => {
                overlay.render(frame, main, self.now, theme)
            }
            Some(Overlay::Conflicts(dialog)) => dialog.render(
                frame,
                main,
                self.sync
                    .as_ref()
                    .map(|sync| sync.items.as_slice())
                    .unwrap_or_default(),
                &self.config.keymap,
                theme,
            ),
            None => {}
        }
    }
}
