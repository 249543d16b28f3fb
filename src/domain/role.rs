//! The roles people hold and steps name.

use crate::domain::name::vocabulary_name;

vocabulary_name!(
    /// A role people hold; a step names the role that may decide it. The
    /// active policy set's vocabulary lists the organisation's roles.
    Role,
    "role",
    [
        TechnicalLead = "technical_lead",
        DataSteward = "data_steward",
        MlEngineer = "ml_engineer",
        EthicsReviewer = "ethics_reviewer",
        ComplianceOfficer = "compliance_officer",
        PolicyAdmin = "policy_admin",
        IndependentAuditor = "independent_auditor",
    ]
);

impl Role {
    /// The five reviewer roles of the design, in chain order (policy
    /// administrators decide policy sets, not deployments).
    pub const ALL: [Role; 5] = [
        Role::TechnicalLead,
        Role::DataSteward,
        Role::MlEngineer,
        Role::EthicsReviewer,
        Role::ComplianceOfficer,
    ];

    /// Human wording ("technical lead"; an organisation's own role reads as
    /// its name with spaces).
    pub fn label(self) -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed(match self {
            Role::TechnicalLead => "technical lead",
            Role::DataSteward => "data steward",
            Role::MlEngineer => "ML engineer",
            Role::EthicsReviewer => "ethics reviewer",
            Role::ComplianceOfficer => "compliance officer",
            Role::PolicyAdmin => "policy admin",
            Role::IndependentAuditor => "independent auditor",
            other => return std::borrow::Cow::Owned(crate::domain::name::words(other.as_str())),
        })
    }

    /// The label after "a" or "an", as it is spoken ("an ML engineer",
    /// "a data steward").
    pub fn with_article(self) -> String {
        let label = self.label();
        let spoken_vowel = label.starts_with(['a', 'e', 'i', 'o', 'u', 'A', 'E', 'I', 'O', 'U'])
            || label.starts_with("ML");
        let article = if spoken_vowel { "an" } else { "a" };
        format!("{article} {label}")
    }
}
