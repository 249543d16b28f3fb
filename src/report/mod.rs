//! The board report as a document that proves itself: its figures signed
//! as a C2SP signed note under the trail log's key (`sign`, `open`), drawn
//! as Markdown, HTML or PDF with the signed note inside (`render`), and
//! checked offline by drawing the document again from the note
//! (`verify`): an edited figure no longer matches.

pub mod chart;
pub mod format;
pub mod html;
pub mod markdown;
pub mod note;
pub mod pdf;
pub mod verify;
mod words;
