//! What conditions read about a request besides the agent's own fields.

/// Facts about a request that conditions may name besides the agent's own
/// fields: `lowers_risk_fields` is true when the request lowers a
/// risk-relevant field against the agent's last approved or pending version.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestFacts {
    pub lowers_risk_fields: bool,
}
