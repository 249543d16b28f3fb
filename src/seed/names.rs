//! Word lists the generator draws from.

use crate::domain::Category;

pub const FIRST_NAMES: &[&str] = &[
    "Amara", "Ben", "Chloe", "Dmitri", "Elena", "Farid", "Grace", "Hiro", "Imani", "Jonas",
    "Keiko", "Liam", "Maya", "Nikhil", "Olga", "Pedro", "Quinn", "Rosa", "Samir", "Tara", "Uma",
    "Victor", "Wen", "Xavier", "Yara", "Zane", "Aisha", "Bruno", "Carmen", "Dev", "Esther",
    "Felix", "Gita", "Hannah", "Ivan", "Julia", "Kofi", "Lena", "Marco", "Nadia",
];

pub const LAST_NAMES: &[&str] = &[
    "Okafor",
    "Lindqvist",
    "Tanaka",
    "Moreau",
    "Haddad",
    "Novak",
    "Castillo",
    "Singh",
    "O'Brien",
    "Kowalski",
    "Mensah",
    "Rossi",
    "Nguyen",
    "Fischer",
    "Alvarez",
    "Kim",
    "Petrov",
    "Dubois",
    "Sato",
    "Brennan",
    "Achebe",
    "Larsen",
    "Mehta",
    "Costa",
    "Schmidt",
    "Yilmaz",
    "Kaur",
    "Walsh",
    "Ferreira",
    "Ito",
];

pub const EMAIL_DOMAIN: &str = "northwind.example";

/// Teams and the kind of agents each builds.
pub const TEAMS: &[(&str, Category)] = &[
    ("Talent Acquisition", Category::HumanResources),
    ("People Operations", Category::HumanResources),
    ("Workforce Analytics", Category::HumanResources),
    ("Customer Care", Category::CustomerService),
    ("Support Engineering", Category::CustomerService),
    ("Payments", Category::Finance),
    ("Credit Risk", Category::Finance),
    ("Treasury", Category::Finance),
    ("Clinical Operations", Category::Healthcare),
    ("Patient Experience", Category::Healthcare),
    ("Legal Operations", Category::Legal),
    ("Contracts", Category::Legal),
    ("Growth Marketing", Category::Marketing),
    ("Brand Studio", Category::Marketing),
    ("Developer Experience", Category::Engineering),
    ("Platform", Category::Engineering),
    ("Site Reliability", Category::Engineering),
    ("Supply Chain", Category::Operations),
    ("Facilities", Category::Operations),
    ("Applied Research", Category::Research),
    ("Data Science Lab", Category::Research),
];

pub fn agent_kinds(category: Category) -> &'static [&'static str] {
    match category {
        Category::HumanResources => &[
            "Resume Screener",
            "Interview Scheduler",
            "Candidate Ranker",
            "Attrition Predictor",
            "Benefits Assistant",
            "Onboarding Guide",
            "Performance Summariser",
            "Pay Equity Analyser",
        ],
        Category::CustomerService => &[
            "Support Triage Bot",
            "Refund Assistant",
            "Chat Concierge",
            "Complaint Classifier",
            "Knowledge Base Answerer",
            "Escalation Router",
        ],
        Category::Finance => &[
            "Invoice Matcher",
            "Fraud Screener",
            "Credit Limit Advisor",
            "Expense Auditor",
            "Cash Forecaster",
            "Loan Pre-qualifier",
        ],
        Category::Healthcare => &[
            "Triage Nurse Assistant",
            "Discharge Summariser",
            "Appointment Optimiser",
            "Prior Authorisation Helper",
            "Symptom Checker",
        ],
        Category::Legal => &[
            "Contract Reviewer",
            "Clause Extractor",
            "eDiscovery Assistant",
            "Policy Q&A Bot",
        ],
        Category::Marketing => &[
            "Campaign Copywriter",
            "Audience Segmenter",
            "Social Listener",
            "Offer Personaliser",
        ],
        Category::Engineering => &[
            "Code Review Assistant",
            "Incident Summariser",
            "Runbook Executor",
            "Test Generator",
            "Dependency Auditor",
        ],
        Category::Operations => &[
            "Demand Forecaster",
            "Route Planner",
            "Supplier Risk Monitor",
            "Inventory Reorderer",
        ],
        Category::Research => &[
            "Literature Reviewer",
            "Experiment Planner",
            "Survey Analyst",
            "Data Labeller",
        ],
        _ => &["Assistant"],
    }
}

pub const CODE_NAMES: &[&str] = &[
    "Atlas", "Beacon", "Cobalt", "Delta", "Ember", "Falcon", "Garnet", "Harbor", "Iris", "Juniper",
    "Kestrel", "Lumen", "Meridian", "Nimbus", "Onyx", "Pioneer", "Quartz", "Raven", "Sierra",
    "Tundra", "Umber", "Vega", "Willow", "Zephyr",
];

pub const EXTERNAL_TOOLS: &[&str] = &[
    "web_search",
    "crm_api",
    "payments_gateway",
    "email_sender",
    "calendar_api",
    "document_store",
    "slack_webhook",
    "maps_api",
    "sms_gateway",
    "ats_connector",
];

pub const APPROVAL_COMMENTS: &[&str] = &[
    "Reviewed the data flow diagram; retention matches policy.",
    "Access scoped to the minimum needed. Approved.",
    "Evaluation results are within tolerance.",
    "Logging and human escalation path verified.",
    "DPIA on file and current.",
    "Model card reviewed; limitations are documented.",
    "Red-team findings addressed in this version.",
    "Fine, provided the monitoring dashboard goes live with the release.",
];

pub const REJECTION_COMMENTS: &[&str] = &[
    "No data processing agreement for the new vendor; resubmit once signed.",
    "Prompt logs contain unredacted personal data.",
    "Fallback to a human is missing for low-confidence answers.",
    "Evaluation set is not representative of production traffic.",
    "Training data provenance is undocumented.",
    "Retention period exceeds what the privacy notice promises.",
    "Escalation path untested; please add an integration test and resubmit.",
];

pub const RISK_NOTES: &[&str] = &[
    "Proxy discrimination through postcode and school features; both removed and re-tested.",
    "Over-reliance by recruiters on the ranking; the UI now shows uncertainty and requires a rationale.",
    "Drift as the applicant pool changes; monthly fairness monitoring with alert thresholds.",
    "Hallucinated policy answers; grounded retrieval with citations and a refusal fallback.",
    "Exposure of personal data in logs; redaction at ingestion and 30-day retention.",
];

pub const CONDITIONS: &[&str] = &[
    "Quarterly bias audit with results shared with the ethics board.",
    "Human review of every adverse decision for the first 90 days.",
    "Candidates are told an automated tool assists the screening.",
];

pub const AUDIT_GROUP_SETS: &[&[&str]] = &[
    &["women", "men", "non-binary"],
    &["under 40", "40 and over"],
    &[
        "Asian",
        "Black",
        "Hispanic or Latino",
        "White",
        "Two or more",
    ],
    &["disability disclosed", "no disability disclosed"],
    &["veteran", "non-veteran"],
];
