//! The `Custom::StrataFleet` properties as one table of descriptors, from which the JSON Schema
//! (`docs/strata-fleet.schema.json`) and the property reference of `docs/configuration.md` are generated.
//! Tests hold the table against the parser (`FleetSpec::from_properties`): every property, its default, its
//! range or choices; and `tests/tests/docs.rs` fails when the committed documents differ from what this makes.

use serde_json::{Map, Value, json};

use super::{ALB_QUOTA_PER_REGION, DEFAULT_SSL_POLICY};

/// What a property holds, as the parser reads it.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// Non-empty text; `pattern` (ECMA-262, as JSON Schema uses) when the parser checks its shape.
    Text { pattern: Option<&'static str>, max_length: Option<u64> },
    /// Ids: a JSON list, or one comma-separated string (a `CommaDelimitedList` parameter passed through);
    /// each starts with `prefix` and has more after it; none twice.
    List { prefix: &'static str, min_items: u64 },
    /// A whole number in `min..=max`, as a JSON number or as a string of digits.
    Integer { min: u64, max: u64 },
    /// `true`/`false` as JSON or as a string, any case.
    Boolean,
    /// One of these words, exactly (case as AWS writes them).
    Choice(&'static [&'static str]),
    /// A nested object with its own properties (absent means every default).
    Object(&'static [Property]),
    /// Accepted whatever it holds, and not read (CloudFormation's `ServiceToken`).
    Ignored,
}

/// The value the provisioner uses when a property is left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultValue {
    Integer(u64),
    Text(&'static str),
    Boolean(bool),
    /// Left out means none (an empty list, no selector).
    Nothing,
}

/// What a custom-resource Update that changes the property does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnUpdate {
    /// Applied to every existing shard (and written to the policy tags the other functions read).
    InPlace,
    /// Refused with a FAILED answer: AWS cannot change it on an existing ALB or target group. Give the fleet a
    /// new `FleetName` instead (CloudFormation then deletes the old fleet).
    Refused,
    /// Another fleet: built beside the old one, which CloudFormation then deletes (new PhysicalResourceId).
    NewFleet,
    /// Existing shards keep what they were built with; only shards the provisioner builds from now on get it.
    NewShardsOnly,
    /// Not a setting (CloudFormation's own, or a check).
    NoEffect,
}

impl OnUpdate {
    pub fn describe(self) -> &'static str {
        match self {
            Self::InPlace => "in place",
            Self::Refused => "**refused**: new `FleetName`",
            Self::NewFleet => "new fleet (replacement)",
            Self::NewShardsOnly => "new shards only",
            Self::NoEffect => "—",
        }
    }
}

/// One property of `Custom::StrataFleet`.
#[derive(Debug, Clone, Copy)]
pub struct Property {
    /// PascalCase, as in the template.
    pub name: &'static str,
    pub kind: Kind,
    pub required: bool,
    pub default: DefaultValue,
    pub on_update: OnUpdate,
    /// One sentence: the schema's `description` and the reference's first line.
    pub summary: &'static str,
    /// More for the reference (Markdown), may be empty.
    pub details: &'static str,
    /// A rule beyond the kind's own (a cross-field check, a shape), in words; may be empty.
    pub rule: &'static str,
    /// Valid values (JSON text) beyond those the kind implies; the first is the schema's example.
    pub examples: &'static [&'static str],
    /// Values the parser refuses (JSON text) beyond those the kind implies.
    pub counter_examples: &'static [&'static str],
}

/// The two properties that select the fleet's ASGs: at least one must select something.
pub const ASG_SELECTORS: [&str; 2] = ["AutoScalingGroupNames", "AutoScalingGroupTag"];

const FLEET_NAME_PATTERN: &str = "^(?!internal-)[a-z0-9]([a-z0-9-]{0,18}[a-z0-9])?$";
const DOMAIN_PATTERN: &str = r"^(?=.{1,200}\.?$)([A-Za-z0-9][A-Za-z0-9-]{0,62}\.)+[A-Za-z0-9][A-Za-z0-9-]{0,62}\.?$";

const fn text(pattern: Option<&'static str>) -> Kind {
    Kind::Text { pattern, max_length: None }
}

const fn int(min: u64, max: u64) -> Kind {
    Kind::Integer { min, max }
}

const fn prop(name: &'static str, kind: Kind, default: DefaultValue, summary: &'static str) -> Property {
    Property {
        name,
        kind,
        required: false,
        default,
        on_update: OnUpdate::InPlace,
        summary,
        details: "",
        rule: "",
        examples: &[],
        counter_examples: &[],
    }
}

const STICKINESS: &[Property] = &[
    prop(
        "Enabled",
        Kind::Boolean,
        DefaultValue::Boolean(false),
        "Load-balancer-cookie (`lb_cookie`) stickiness on every shard's target group.",
    ),
    prop(
        "DurationSeconds",
        int(1, 604_800),
        DefaultValue::Integer(86_400),
        "How long the stickiness cookie holds a client to one target.",
    ),
];

const ASG_TAG: &[Property] = &[
    Property {
        rule: "Key and Value go together",
        examples: &["\"strata:fleet\""],
        ..prop("Key", text(None), DefaultValue::Nothing, "Tag key an ASG must carry to belong to the fleet.")
    },
    Property {
        rule: "Key and Value go together",
        examples: &["\"web\""],
        ..prop("Value", text(None), DefaultValue::Nothing, "Value that tag must have.")
    },
];

const LIMITS: &[Property] = &[
    Property {
        details: "A shard's `strata-<fleet>-s<k>-requests-high` alarm fires when the ALB's `RequestCount` stays above \
                  `RequestsPerSecondPerShard × 60 × ScaleOutPercent / 100` requests a minute for 3 minutes; the \
                  fleet's `strata-<fleet>-requests-low` alarm compares the fleet's requests a minute, for 15 \
                  minutes, with `(shards − 1) × RequestsPerSecondPerShard × 60 × ScaleInPercent / 100`.",
        ..prop(
            "RequestsPerSecondPerShard",
            int(1, 10_000_000),
            DefaultValue::Integer(50_000),
            "The load one shard (ALB) is sized for, in requests per second; the scaling alarms derive from it.",
        )
    },
    Property {
        details: "Used in `partition` mode: an ASG goes on the serving shard with the fewest targets that still has \
                  room for all of its instances; when none has, the asg-registrar reports `NoTargetRoom` and the \
                  `strata-<fleet>-targets-full` alarm asks the alb-scaler for a shard. AWS allows 1,000 targets \
                  per ALB.",
        ..prop(
            "TargetsPerShard",
            int(1, 1000),
            DefaultValue::Integer(1000),
            "Most targets one shard's target group may hold (partition mode places ASGs by it).",
        )
    },
    Property {
        details: "The alb-scaler adds no shard beyond it (nor beyond the region's 50 load balancers). Lowering it \
                  removes no shard: scale-in does that, one drained shard at a time.",
        ..prop(
            "MaxShards",
            int(1, ALB_QUOTA_PER_REGION as u64),
            DefaultValue::Integer(8),
            "Most serving shards in the region.",
        )
    },
    Property {
        rule: "at most `MaxShards`",
        details: "The provisioner builds shards `s0` … `s<MinShards−1>`; scale-in never drains below it (nor below 1).",
        ..prop(
            "MinShards",
            int(1, ALB_QUOTA_PER_REGION as u64),
            DefaultValue::Integer(1),
            "Fewest serving shards; the provisioner builds this many.",
        )
    },
    prop(
        "ScaleOutPercent",
        int(10, 100),
        DefaultValue::Integer(80),
        "Share of `RequestsPerSecondPerShard` at which a shard's requests-high alarm fires.",
    ),
    Property {
        rule: "below `ScaleOutPercent`",
        ..prop(
            "ScaleInPercent",
            int(1, 90),
            DefaultValue::Integer(30),
            "Share of `RequestsPerSecondPerShard` below which the fleet, with one shard fewer, would still be: the requests-low alarm fires.",
        )
    },
];

const REBALANCING: &[Property] = &[
    prop(
        "MaxStepWeight",
        int(1, 255),
        DefaultValue::Integer(32),
        "Largest increase of one shard's Route 53 weight in one rebalancer pass (decreases apply at once).",
    ),
    prop(
        "HysteresisPercent",
        int(0, 50),
        DefaultValue::Integer(5),
        "Hysteresis: no weight changes while the weights are within this many percent of what healthy capacity calls for.",
    ),
    prop(
        "InitialWeight",
        int(1, 255),
        DefaultValue::Integer(8),
        "Weight a shard added to a serving fleet starts at (the rebalancer then ramps it).",
    ),
];

/// Every property of `Custom::StrataFleet`, in the order of the reference.
pub const PROPERTIES: &[Property] = &[
    Property {
        on_update: OnUpdate::NoEffect,
        details: "CloudFormation's own (the provisioner function's ARN); accepted and ignored.",
        examples: &["\"arn:aws:lambda:us-east-1:123456789012:function:strata-provisioner\""],
        ..prop(
            "ServiceToken",
            Kind::Ignored,
            DefaultValue::Nothing,
            "The provisioner's ARN, where CloudFormation sends the request.",
        )
    },
    Property {
        on_update: OnUpdate::NoEffect,
        details: "CloudFormation's own: how long CloudFormation waits for the answer (seconds); accepted and ignored.",
        examples: &["\"900\""],
        ..prop(
            "ServiceTimeout",
            Kind::Ignored,
            DefaultValue::Nothing,
            "CloudFormation's wait for the provisioner's answer.",
        )
    },
    Property {
        required: true,
        on_update: OnUpdate::NewFleet,
        rule: "1-20 characters of `a-z`, `0-9` and `-`, not starting or ending with `-`, not starting with `internal-` \
               (AWS refuses ALB names that do)",
        details: "Every name derives from it: ALB `<fleet>-s<k>`, target group `<fleet>-s<k>-tg`, alarms \
                  `strata-<fleet>-…`, record SetIdentifiers `strata:<fleet>:…`, the `strata:fleet` tag and the \
                  PhysicalResourceId `strata:<fleet>:<region>`. Changing it builds a new fleet beside the old one; \
                  CloudFormation then sends Delete for the old PhysicalResourceId, which removes the old fleet. \
                  This is the way to change a property that is refused on Update.",
        examples: &["\"web\"", "\"a-20-char-fleet-name\"", "\"0\""],
        counter_examples: &[
            "\"Web\"",
            "\"web_1\"",
            "\"-web\"",
            "\"web-\"",
            "\"a-21-char-fleet-names\"",
            "\"internal-api\"",
        ],
        ..prop(
            "FleetName",
            text(Some(FLEET_NAME_PATTERN)),
            DefaultValue::Nothing,
            "The fleet's name, unique in the account and region.",
        )
    },
    Property {
        required: true,
        rule: "a DNS name of at least two labels, at most 200 characters; a final `.` is dropped and it is lowercased",
        details: "The region's latency record is `<Domain>` (SetIdentifier `strata:<fleet>:<region>`), an alias of \
                  `<region>.<Domain>`, which holds the weighted records of the shards (SetIdentifier \
                  `strata:<fleet>:<region>:s<k>`). An Update writes the records under the new name; the records \
                  under the old name are left in the zone (delete them by hand).",
        examples: &["\"api.example.com\"", "\"API.Example.com.\""],
        counter_examples: &["\"localhost\"", "\"-api.example.com\"", "\"api..example.com\"", "\"api example.com\""],
        ..prop("Domain", text(Some(DOMAIN_PATTERN)), DefaultValue::Nothing, "The name clients resolve.")
    },
    Property {
        required: true,
        details: "Holds the latency and the weighted records; `/hostedzone/Z…` is accepted. An Update writes the \
                  records in the new zone and leaves the old zone's records.",
        examples: &["\"Z0123456789ABC\"", "\"/hostedzone/Z0123456789ABC\""],
        counter_examples: &["\"\""],
        ..prop("HostedZoneId", text(None), DefaultValue::Nothing, "The Route 53 hosted zone of `Domain`.")
    },
    Property {
        on_update: OnUpdate::NoEffect,
        details: "When given, a provisioner running in another region answers FAILED instead of building there: one \
                  stack (or StackSet instance) per region, each provisioning its own region.",
        examples: &["\"us-east-1\""],
        ..prop("Region", text(None), DefaultValue::Nothing, "A guard: the region this fleet's stack is meant for.")
    },
    Property {
        required: true,
        on_update: OnUpdate::Refused,
        rule: "starts with `vpc-`",
        details: "The target groups are created in it, and `SubnetIds` must belong to it.",
        examples: &["\"vpc-0a1b2c3d\""],
        counter_examples: &["\"subnet-0a1\""],
        ..prop("VpcId", text(Some("^vpc-")), DefaultValue::Nothing, "The VPC of the ALBs and target groups.")
    },
    Property {
        required: true,
        on_update: OnUpdate::NewShardsOnly,
        details: "Every shard's ALB is in all of them (an ALB needs two Availability Zones or more); cross-zone load \
                  balancing is on. Existing ALBs keep their subnets on Update, and shards the alb-scaler adds copy a \
                  serving shard's subnets.",
        ..prop(
            "SubnetIds",
            Kind::List { prefix: "subnet-", min_items: 2 },
            DefaultValue::Nothing,
            "Subnets, one per Availability Zone the fleet uses.",
        )
    },
    Property {
        on_update: OnUpdate::NewShardsOnly,
        details: "None given: the VPC's default security group. Existing ALBs keep theirs on Update, and shards the \
                  alb-scaler adds copy a serving shard's.",
        ..prop(
            "SecurityGroupIds",
            Kind::List { prefix: "sg-", min_items: 0 },
            DefaultValue::Nothing,
            "Security groups of every shard's ALB.",
        )
    },
    Property {
        on_update: OnUpdate::Refused,
        details: "`internet-facing` shards also get a Route 53 HTTPS health check on their weighted records; \
                  `internal` ones rely on the alias records' EvaluateTargetHealth alone (Route 53's checkers cannot \
                  reach an internal ALB).",
        ..prop(
            "Scheme",
            Kind::Choice(&["internet-facing", "internal"]),
            DefaultValue::Text("internet-facing"),
            "Whether the ALBs are reachable from the internet.",
        )
    },
    Property {
        on_update: OnUpdate::NewShardsOnly,
        details: "`dualstack` ALBs get AAAA records beside the A records (weighted and latency). Existing ALBs keep \
                  their IP address type on Update.",
        ..prop(
            "IpAddressType",
            Kind::Choice(&["ipv4", "dualstack"]),
            DefaultValue::Text("ipv4"),
            "IPv4 only, or IPv4 and IPv6.",
        )
    },
    Property {
        required: true,
        rule: "an ACM certificate ARN (`arn:…:certificate/…`)",
        details: "The HTTPS:443 listener's default certificate; HTTP:80 answers 301 to HTTPS. An Update replaces the \
                  default certificate on every shard. Extra certificates added to a listener by hand are kept and \
                  copied to new shards.",
        examples: &["\"arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-aaaa-bbbb-cccc-1234567890ab\""],
        counter_examples: &["\"arn:aws:iam::123456789012:server-certificate/web\"", "\"0f1e2d3c\""],
        ..prop(
            "CertificateArn",
            text(Some("^arn:(.*:)?certificate/")),
            DefaultValue::Nothing,
            "The ACM certificate of the HTTPS listener.",
        )
    },
    Property {
        examples: &["\"ELBSecurityPolicy-TLS13-1-3-2021-06\""],
        ..prop("SslPolicy", text(None), DefaultValue::Text(DEFAULT_SSL_POLICY), "The HTTPS listener's security policy.")
    },
    Property {
        on_update: OnUpdate::Refused,
        details: "`instance` is the only type: Auto Scaling attaches only instance target groups.",
        ..prop(
            "TargetType",
            Kind::Choice(&["instance"]),
            DefaultValue::Text("instance"),
            "How targets register in the target groups.",
        )
    },
    Property {
        on_update: OnUpdate::Refused,
        ..prop(
            "TargetPort",
            int(1, 65_535),
            DefaultValue::Integer(80),
            "The port the ALB sends requests to on the targets (HTTP).",
        )
    },
    Property {
        on_update: OnUpdate::NoEffect,
        details: "Only HTTP is supported between the ALB and the targets; the property lets a template say so.",
        ..prop("TargetProtocol", Kind::Choice(&["HTTP"]), DefaultValue::Text("HTTP"), "The protocol to the targets.")
    },
    Property {
        rule: "starts with `/`, at most 1,024 characters",
        details: "The target groups check it over HTTP and expect 200. Internet-facing shards also get a Route 53 \
                  HTTPS health check of this path on port 443 (every 30 s, 3 failures), made when the shard is made: \
                  an Update changes the target groups' path, not the path of existing Route 53 health checks.",
        examples: &["\"/ready\"", "\"/\""],
        counter_examples: &["\"health\""],
        ..prop(
            "HealthCheckPath",
            Kind::Text { pattern: Some("^/"), max_length: Some(1024) },
            DefaultValue::Text("/health"),
            "The path targets answer health checks on.",
        )
    },
    prop(
        "HealthCheckIntervalSeconds",
        int(5, 300),
        DefaultValue::Integer(15),
        "Seconds between the target group's health checks of a target.",
    ),
    prop(
        "HealthyThresholdCount",
        int(2, 10),
        DefaultValue::Integer(3),
        "Consecutive successes before a target is healthy.",
    ),
    prop(
        "UnhealthyThresholdCount",
        int(2, 10),
        DefaultValue::Integer(3),
        "Consecutive failures before a target is unhealthy.",
    ),
    Property {
        details: "Also part of the drain wait: a shard being removed waits `STRATA_ALIAS_TTL_SECONDS` (60) + this \
                  after its weight went to 0 before it is deleted.",
        ..prop(
            "DeregistrationDelaySeconds",
            int(0, 3600),
            DefaultValue::Integer(300),
            "Seconds a deregistering target keeps serving its in-flight requests.",
        )
    },
    Property { ..prop("Stickiness", Kind::Object(STICKINESS), DefaultValue::Nothing, "Target group stickiness.") },
    Property {
        details: "The fleet's ASGs are the union of these and those `AutoScalingGroupTag` selects; give at least one \
                  of the two. ASGs that leave the selection are detached from the fleet's target groups by the \
                  asg-registrar (on an event naming them, or its scheduled reconcile).",
        examples: &["[\"web-a\", \"web-b\"]", "\"web-a, web-b\""],
        ..prop(
            "AutoScalingGroupNames",
            Kind::List { prefix: "", min_items: 0 },
            DefaultValue::Nothing,
            "ASGs of the fleet, by name.",
        )
    },
    Property {
        details: "Every ASG in the region with this tag belongs to the fleet (an ASG created later \
                  too: the asg-registrar attaches it on its CloudTrail or tag-change event).",
        ..prop("AutoScalingGroupTag", Kind::Object(ASG_TAG), DefaultValue::Nothing, "ASGs of the fleet, by tag.")
    },
    Property {
        details: "`mirror`: every fleet ASG on every shard, so requests per second are what a shard runs out of. \
                  `partition`: each ASG on exactly one shard, placed by target headroom (`Limits.TargetsPerShard`), \
                  for fleets beyond 1,000 targets. An Update re-plans the attachments.",
        ..prop(
            "ShardingMode",
            Kind::Choice(&["mirror", "partition"]),
            DefaultValue::Text("mirror"),
            "How the fleet's ASGs are spread over the shards.",
        )
    },
    Property {
        ..prop(
            "Limits",
            Kind::Object(LIMITS),
            DefaultValue::Nothing,
            "What a shard holds and how many shards there may be.",
        )
    },
    Property {
        ..prop(
            "Rebalancing",
            Kind::Object(REBALANCING),
            DefaultValue::Nothing,
            "How the dns-rebalancer moves Route 53 weights.",
        )
    },
    Property {
        rule: "a Lambda function ARN (`arn:…:function:…`)",
        details: "Overrides the provisioner's `STRATA_SCALER_ARN` (and `STRATA_ALARM_TOPIC_ARN`), and is kept in the fleet's policy tags so that the \
                  alb-scaler writes the same alarm actions when it rewrites the alarms.",
        examples: &["\"arn:aws:lambda:us-east-1:123456789012:function:strata-alb-scaler\""],
        counter_examples: &["\"strata-alb-scaler\"", "\"arn:aws:sns:us-east-1:123456789012:topic\""],
        ..prop(
            "ScalerFunctionArn",
            text(Some("^arn:(.*:)?function:")),
            DefaultValue::Nothing,
            "The alb-scaler the fleet's alarms invoke.",
        )
    },
];

/// Every property with its path (`Limits.MaxShards`), nested ones after their object.
pub fn flatten() -> Vec<(String, &'static Property)> {
    fn walk(prefix: &str, props: &'static [Property], out: &mut Vec<(String, &'static Property)>) {
        for p in props {
            let path = if prefix.is_empty() { p.name.to_owned() } else { format!("{prefix}.{}", p.name) };
            out.push((path.clone(), p));
            if let Kind::Object(nested) = p.kind {
                walk(&path, nested, out);
            }
        }
    }
    let mut out = Vec::new();
    walk("", PROPERTIES, &mut out);
    out
}

/// The property at a path (`Limits.MaxShards`).
pub fn find(path: &str) -> Option<&'static Property> {
    flatten().into_iter().find(|(p, _)| p == path).map(|(_, prop)| prop)
}

impl Property {
    /// The default as JSON, if there is one.
    pub fn default_json(&self) -> Option<Value> {
        match self.default {
            DefaultValue::Integer(n) => Some(json!(n)),
            DefaultValue::Text(t) => Some(json!(t)),
            DefaultValue::Boolean(b) => Some(json!(b)),
            DefaultValue::Nothing => None,
        }
    }

    /// Values the parser accepts: the kind's edges in both JSON and CloudFormation's string form, and the
    /// table's examples.
    pub fn valid_values(&self) -> Vec<Value> {
        let mut out: Vec<Value> = match self.kind {
            Kind::Integer { min, max } => {
                vec![json!(min), json!(max), json!(min.to_string()), json!(max.to_string()), json!((min + max) / 2)]
            }
            Kind::Boolean => vec![json!(true), json!(false), json!("true"), json!("False"), json!("FALSE")],
            Kind::Choice(words) => words.iter().map(|w| json!(w)).collect(),
            Kind::List { prefix, min_items } => {
                let items: Vec<String> = (0..min_items.max(1) + 1).map(|i| format!("{prefix}id{i}")).collect();
                vec![json!(items), json!(items.join(", ")), json!(items.join(","))]
            }
            Kind::Text { .. } | Kind::Object(_) | Kind::Ignored => Vec::new(),
        };
        if let Kind::Object(nested) = self.kind {
            out.push(json!({}));
            let mut full = Map::new();
            for p in nested {
                if let Some(v) = p.valid_values().into_iter().next() {
                    full.insert(p.name.to_owned(), v);
                }
            }
            out.push(Value::Object(full));
        }
        out.extend(self.examples.iter().map(|e| parse_example(e)));
        out
    }

    /// Values the parser refuses, naming this property: out of range, unknown words, wrong types.
    pub fn invalid_values(&self) -> Vec<Value> {
        let mut out: Vec<Value> = match self.kind {
            Kind::Integer { min, max } => {
                let mut v = vec![json!(max + 1), json!((max + 1).to_string()), json!("many"), json!(1.5), json!(-1)];
                if min > 0 {
                    v.extend([json!(min - 1), json!((min - 1).to_string())]);
                }
                v
            }
            Kind::Boolean => vec![json!("yes"), json!(1), json!("")],
            Kind::Choice(words) => {
                let mut v = vec![json!("bogus"), json!(["x"])];
                v.extend(words.iter().filter(|w| w.to_uppercase() != **w).map(|w| json!(w.to_uppercase())));
                v
            }
            Kind::List { prefix, min_items } => {
                let mut v = vec![json!(42), json!([format!("{prefix}a"), format!("{prefix}a")]), json!([prefix])];
                if !prefix.is_empty() {
                    v.push(json!(["x-1", "x-2"]));
                }
                if min_items > 1 {
                    v.push(json!([format!("{prefix}a")]));
                }
                v
            }
            Kind::Text { .. } => vec![json!(""), json!(["x"]), json!(true)],
            Kind::Object(_) => vec![json!("yes"), json!({"Bogus": "1"})],
            Kind::Ignored => Vec::new(),
        };
        out.extend(self.counter_examples.iter().map(|e| parse_example(e)));
        out
    }
}

fn parse_example(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("example {text:?} in the property table is not JSON: {e}"))
}

/// An ECMA-262 pattern matching exactly the decimal numbers `min..=max` (no sign, no leading zeros).
pub fn integer_pattern(min: u64, max: u64) -> String {
    let mut parts = Vec::new();
    let mut low = min;
    while low <= max {
        let digits = low.to_string().len() as u32;
        let top = 10u64.pow(digits) - 1;
        let high = max.min(top);
        parts.extend(same_length(&low.to_string(), &high.to_string()));
        if high == max {
            break;
        }
        low = high + 1;
    }
    format!("^({})$", parts.join("|"))
}

/// Patterns for the numbers from `a` to `b`, both of the same number of digits.
fn same_length(a: &str, b: &str) -> Vec<String> {
    if a.is_empty() {
        return vec![String::new()];
    }
    if a == b {
        return vec![a.to_owned()];
    }
    let (a0, a_rest) = a.split_at(1);
    let (b0, b_rest) = b.split_at(1);
    if a0 == b0 {
        return same_length(a_rest, b_rest).into_iter().map(|p| format!("{a0}{p}")).collect();
    }
    let rest = a_rest.len();
    let (mut first, mut last) = (digit(a0), digit(b0));
    let mut out = Vec::new();
    if !a_rest.bytes().all(|c| c == b'0') {
        out.extend(same_length(a_rest, &"9".repeat(rest)).into_iter().map(|p| format!("{a0}{p}")));
        first += 1;
    }
    let mut tail = Vec::new();
    if !b_rest.bytes().all(|c| c == b'9') {
        tail.extend(same_length(&"0".repeat(rest), b_rest).into_iter().map(|p| format!("{b0}{p}")));
        last -= 1;
    }
    if first <= last {
        let class = if first == last { first.to_string() } else { format!("[{first}-{last}]") };
        let any = match rest {
            0 => String::new(),
            1 => "[0-9]".to_owned(),
            n => format!("[0-9]{{{n}}}"),
        };
        out.push(format!("{class}{any}"));
    }
    out.extend(tail);
    out
}

fn digit(s: &str) -> u8 {
    s.as_bytes()[0] - b'0'
}

/// The JSON Schema (draft 2020-12) of the properties, keys sorted so that the text is stable.
pub fn json_schema() -> Value {
    let mut root = object_schema(PROPERTIES);
    root.insert("$schema".into(), json!("https://json-schema.org/draft/2020-12/schema"));
    root.insert("title".into(), json!("Custom::StrataFleet properties"));
    root.insert(
        "description".into(),
        json!(
            "The properties of a Custom::StrataFleet CloudFormation resource, as Strata's provisioner accepts them. \
             CloudFormation sends every scalar as a string, so numbers and booleans are accepted in both forms. \
             Generated from shared/src/spec/schema.rs (STRATA_BLESS=1 cargo test -p strata-tests --test docs). \
             Not expressed here, checked by the provisioner: Limits.MinShards <= Limits.MaxShards, \
             Limits.ScaleInPercent < Limits.ScaleOutPercent, no id twice in a comma-separated list. \
             Stricter here than the provisioner, which trims surrounding whitespace, ignores a null optional \
             property, reads a JSON number where text is expected, and reads a leading + or zeros in a number."
        ),
    );
    let selectors: Vec<Value> = ASG_SELECTORS
        .iter()
        .map(|name| {
            let constraint = match find(name).map(|p| p.kind) {
                Some(Kind::Object(nested)) => {
                    json!({"required": nested.iter().map(|p| p.name).collect::<Vec<_>>()})
                }
                _ => json!({"not": {"type": "array", "maxItems": 0}}),
            };
            let mut properties = Map::new();
            properties.insert((*name).to_owned(), constraint);
            json!({"required": [name], "properties": properties})
        })
        .collect();
    root.insert("anyOf".into(), Value::Array(selectors));
    sorted(Value::Object(root))
}

fn object_schema(props: &'static [Property]) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("type".into(), json!("object"));
    out.insert("additionalProperties".into(), json!(false));
    let properties: Map<String, Value> = props.iter().map(|p| (p.name.to_owned(), property_schema(p))).collect();
    out.insert("properties".into(), Value::Object(properties));
    let required: Vec<&str> = props.iter().filter(|p| p.required).map(|p| p.name).collect();
    if !required.is_empty() {
        out.insert("required".into(), json!(required));
    }
    if std::ptr::eq(props, ASG_TAG) {
        let names: Vec<&str> = props.iter().map(|p| p.name).collect();
        let dependent: Map<String, Value> = names
            .iter()
            .map(|n| ((*n).to_owned(), json!(names.iter().filter(|m| *m != n).collect::<Vec<_>>())))
            .collect();
        out.insert("dependentRequired".into(), Value::Object(dependent));
    }
    out
}

fn property_schema(p: &Property) -> Value {
    let mut schema = match p.kind {
        Kind::Text { pattern, max_length } => {
            let mut s = Map::new();
            s.insert("type".into(), json!("string"));
            s.insert("pattern".into(), json!(pattern.unwrap_or(r"\S")));
            if let Some(max) = max_length {
                s.insert("maxLength".into(), json!(max));
            }
            s
        }
        Kind::Integer { min, max } => object(json!({"oneOf": [
            {"type": "integer", "minimum": min, "maximum": max},
            {"type": "string", "pattern": integer_pattern(min, max)},
        ]})),
        Kind::Boolean => object(json!({"oneOf": [
            {"type": "boolean"},
            {"type": "string", "pattern": "^([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee])$"},
        ]})),
        Kind::Choice(words) => object(json!({"type": "string", "enum": words})),
        Kind::List { prefix, min_items } => {
            let item = format!(r"\s*{prefix}[^,\s]([^,]*[^,\s])?\s*");
            let repeat = if min_items > 1 { format!("{{{},}}", min_items - 1) } else { "*".to_owned() };
            let mut array = json!({
                "type": "array",
                "items": {"type": "string", "pattern": format!(r"^{prefix}\S([\s\S]*\S)?$")},
                "uniqueItems": true,
            });
            if min_items > 0 {
                array["minItems"] = json!(min_items);
            }
            object(json!({"oneOf": [array, {"type": "string", "pattern": format!("^{item}(,{item}){repeat}$")}]}))
        }
        Kind::Object(nested) => object_schema(nested),
        Kind::Ignored => Map::new(),
    };
    let mut description = p.summary.to_owned();
    if !p.rule.is_empty() {
        description.push_str(&format!(" Rule: {}.", p.rule.replace('`', "")));
    }
    if p.on_update == OnUpdate::Refused {
        description.push_str(" An Update that changes it is refused: use a new FleetName.");
    }
    schema.insert("description".into(), json!(description));
    if let Some(default) = p.default_json() {
        schema.insert("default".into(), default);
    }
    if let Some(example) = p.examples.first() {
        schema.insert("examples".into(), json!([parse_example(example)]));
    }
    Value::Object(schema)
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => unreachable!("built as an object"),
    }
}

/// The same value with every object's keys in order, whatever serde_json's map keeps.
fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// The schema as committed: pretty JSON and a final newline.
pub fn json_schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&json_schema()).expect("a schema serializes");
    text.push('\n');
    text
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Text { .. } => "text",
        Kind::List { .. } => "list",
        Kind::Integer { .. } => "integer",
        Kind::Boolean => "boolean",
        Kind::Choice(_) => "choice",
        Kind::Object(_) => "object",
        Kind::Ignored => "any",
    }
}

fn allowed(p: &Property) -> String {
    let mut parts = Vec::new();
    match p.kind {
        Kind::Integer { min, max } => parts.push(format!("{} to {}", thousands(min), thousands(max))),
        Kind::Boolean => parts.push("`true`, `false`".to_owned()),
        Kind::Choice(words) => parts.push(words.iter().map(|w| format!("`{w}`")).collect::<Vec<_>>().join(", ")),
        Kind::List { prefix, min_items } => {
            let what = if prefix.is_empty() { "names".to_owned() } else { format!("ids `{prefix}…`") };
            let least = if min_items > 0 { format!(", at least {min_items}") } else { String::new() };
            parts.push(format!("{what}{least}, none twice; a list or one comma-separated string"));
        }
        Kind::Ignored => parts.push("anything (not read)".to_owned()),
        Kind::Object(nested) => {
            let names: Vec<&str> = nested.iter().map(|n| n.name).collect();
            parts.push(format!("an object: `{{ {} }}`", names.join(", ")));
        }
        Kind::Text { .. } => {}
    }
    if !p.rule.is_empty() {
        parts.push(p.rule.to_owned());
    }
    if parts.is_empty() { "any non-empty text".to_owned() } else { parts.join("; ") }
}

fn default_text(p: &Property) -> String {
    match p.default {
        DefaultValue::Integer(n) => format!("`{}`", n),
        DefaultValue::Text(t) => format!("`{t}`"),
        DefaultValue::Boolean(b) => format!("`{b}`"),
        DefaultValue::Nothing if p.required => "required".to_owned(),
        DefaultValue::Nothing if ASG_SELECTORS.contains(&p.name) => "this or the other ASG selector".to_owned(),
        DefaultValue::Nothing => "—".to_owned(),
    }
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    if digits.len() <= 4 {
        return digits;
    }
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The property reference of `docs/configuration.md` (the part between the generated-section markers).
pub fn markdown_reference() -> String {
    let mut out = String::new();
    out.push_str("| Property | Type | Default | Allowed | On Update |\n|---|---|---|---|---|\n");
    for (path, p) in flatten() {
        out.push_str(&format!(
            "| [`{path}`](#{}) | {} | {} | {} | {} |\n",
            anchor(&path),
            kind_name(p.kind),
            default_text(p),
            allowed(p).replace('|', "\\|"),
            p.on_update.describe()
        ));
    }
    out.push_str(
        "\nAt least one of `AutoScalingGroupNames` (non-empty) and `AutoScalingGroupTag` (with `Key` and `Value`) \
         must select the fleet's ASGs. Unknown properties, at any level, are refused by name.\n",
    );
    for (path, p) in flatten() {
        out.push_str(&format!("\n### `{path}`\n\n{}", p.summary));
        if !p.details.is_empty() {
            out.push(' ');
            out.push_str(p.details);
        }
        out.push('\n');
        if p.on_update == OnUpdate::Refused {
            out.push_str(
                "\n**Update:** refused. The provisioner answers FAILED (\"AWS cannot change these in place: …\") and \
                 CloudFormation rolls the stack back; to change it, give the fleet a new `FleetName`.\n",
            );
        }
    }
    out
}

/// The anchor GitHub gives the heading ``### `Limits.MaxShards` ``.
fn anchor(path: &str) -> String {
    path.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_patterns_match_exactly_their_range() {
        for (min, max) in [(0, 3600), (1, 50), (10, 100), (1, 10_000_000), (2, 10), (1, 604_800), (1, 65_535), (5, 300)]
        {
            let pattern = integer_pattern(min, max);
            let alternatives: Vec<&str> = pattern.trim_start_matches("^(").trim_end_matches(")$").split('|').collect();
            let matches = |n: u64| alternatives.iter().any(|alt| simple_match(alt, &n.to_string()));
            let probes = [0, 1, min, max, min.saturating_sub(1), max + 1, (min + max) / 2, 9, 10, 99, 100, 999, 1000];
            for n in probes {
                assert_eq!(matches(n), (min..=max).contains(&n), "{n} against {pattern}");
            }
        }
    }

    /// Matches the patterns `integer_pattern` writes: digits, `[a-b]` classes and `[0-9]{n}` repeats.
    fn simple_match(pattern: &str, text: &str) -> bool {
        let mut classes: Vec<(u8, u8)> = Vec::new();
        let bytes = pattern.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'[' {
                let (lo, hi) = (bytes[i + 1], bytes[i + 3]);
                i += 5;
                let mut count = 1;
                if i < bytes.len() && bytes[i] == b'{' {
                    let end = pattern[i..].find('}').unwrap() + i;
                    count = pattern[i + 1..end].parse().unwrap();
                    i = end + 1;
                }
                classes.extend(std::iter::repeat_n((lo, hi), count));
            } else {
                classes.push((bytes[i], bytes[i]));
                i += 1;
            }
        }
        classes.len() == text.len() && text.bytes().zip(classes).all(|(c, (lo, hi))| (lo..=hi).contains(&c))
    }

    use crate::error::StrataError;
    use crate::spec::FleetSpec;
    use crate::spec::tests::valid_properties;

    /// Sets `path` (`Limits.MaxShards`) in a properties object, making the parent object if needed.
    pub(crate) fn set(props: &mut Value, path: &str, value: Value) {
        let (parent, key) = match path.rsplit_once('.') {
            Some((parent, key)) => {
                if !props[parent].is_object() {
                    props[parent] = json!({});
                }
                (&mut props[parent], key)
            }
            None => (props, path),
        };
        parent[key] = value;
    }

    /// Sibling settings a property's extreme values need to pass the cross-field checks.
    pub(crate) fn companions(path: &str, props: &mut Value) {
        match path {
            "Limits.MinShards" => set(props, "Limits.MaxShards", json!(ALB_QUOTA_PER_REGION)),
            "Limits.ScaleInPercent" => set(props, "Limits.ScaleOutPercent", json!(100)),
            "Limits.ScaleOutPercent" => set(props, "Limits.ScaleInPercent", json!(1)),
            "AutoScalingGroupTag.Key" => set(props, "AutoScalingGroupTag.Value", json!("web")),
            "AutoScalingGroupTag.Value" => set(props, "AutoScalingGroupTag.Key", json!("team")),
            _ => {}
        }
    }

    fn refused_fields(props: &Value) -> Option<Vec<String>> {
        match FleetSpec::from_properties(props) {
            Ok(_) => None,
            Err(StrataError::InvalidSpec(errors)) => Some(errors.fields().into_iter().map(str::to_owned).collect()),
            Err(other) => panic!("unexpected error {other}"),
        }
    }

    #[test]
    fn every_valid_value_of_the_table_parses() {
        for (path, p) in flatten() {
            let values = p.valid_values();
            assert!(!values.is_empty() || matches!(p.kind, Kind::Ignored), "{path}: the table gives no valid value");
            for value in values {
                let mut props = valid_properties();
                companions(&path, &mut props);
                set(&mut props, &path, value.clone());
                if let Err(err) = FleetSpec::from_properties(&props) {
                    panic!("{path} = {value} is valid in the table but the parser says: {err}");
                }
            }
        }
    }

    #[test]
    fn every_invalid_value_of_the_table_is_refused_naming_its_field() {
        for (path, p) in flatten() {
            let values = p.invalid_values();
            assert!(!values.is_empty() || matches!(p.kind, Kind::Ignored), "{path}: the table gives no invalid value");
            for value in values {
                let mut props = valid_properties();
                companions(&path, &mut props);
                set(&mut props, &path, value.clone());
                let fields = refused_fields(&props)
                    .unwrap_or_else(|| panic!("{path} = {value} is invalid in the table but the parser accepts it"));
                let named = fields
                    .iter()
                    .any(|f| f == &path || f.starts_with(&format!("{path}.")) || f.starts_with(&format!("{path}[")));
                assert!(named, "{path} = {value} was refused for {fields:?}, not for {path}");
            }
        }
    }

    #[test]
    fn defaults_of_the_table_are_the_parsers() {
        let base = FleetSpec::from_properties(&valid_properties()).unwrap();
        for (path, p) in flatten() {
            let Some(default) = p.default_json() else { continue };
            let mut props = valid_properties();
            set(&mut props, &path, default.clone());
            let explicit = FleetSpec::from_properties(&props).unwrap();
            assert_eq!(explicit, base, "{path}: the table's default {default} is not what the parser uses");
            // And the property matters: some other valid value changes the spec (the single-valued ones, which
            // let a template say so explicitly, have none).
            let other = p.valid_values().into_iter().find(|v| {
                let mut props = valid_properties();
                companions(&path, &mut props);
                set(&mut props, &path, v.clone());
                FleetSpec::from_properties(&props).is_ok_and(|spec| spec != base)
            });
            let single_valued = ["TargetProtocol", "TargetType"].contains(&path.as_str());
            assert!(other.is_some() || single_valued, "{path}: no valid value changes the spec");
        }
    }

    #[test]
    fn required_properties_of_the_table_are_the_parsers() {
        for (path, p) in flatten().into_iter().filter(|(path, _)| !path.contains('.')) {
            let mut props = valid_properties();
            props.as_object_mut().unwrap().remove(&path);
            let refused = refused_fields(&props);
            let selector = ASG_SELECTORS.contains(&path.as_str());
            match refused {
                Some(fields) => {
                    assert!(p.required || selector, "{path} is optional in the table, required by the parser");
                    assert!(fields.contains(&path), "{path}: {fields:?}");
                }
                None => assert!(!p.required, "{path} is required in the table, optional for the parser"),
            }
        }
        // Either selector alone is enough.
        let mut props = valid_properties();
        props.as_object_mut().unwrap().remove(ASG_SELECTORS[0]);
        set(&mut props, ASG_SELECTORS[1], json!({"Key": "team", "Value": "web"}));
        assert!(FleetSpec::from_properties(&props).is_ok());
    }

    #[test]
    fn update_behaviour_of_the_table_matches_the_fields_aws_cannot_change() {
        let base = FleetSpec::from_properties(&valid_properties()).unwrap();
        for (path, p) in flatten() {
            for value in p.valid_values() {
                let mut props = valid_properties();
                companions(&path, &mut props);
                set(&mut props, &path, value.clone());
                let changed = FleetSpec::from_properties(&props).unwrap();
                let replaced = base.replacement_fields(&changed);
                match p.on_update {
                    OnUpdate::Refused | OnUpdate::NewFleet => {
                        if changed != base {
                            assert_eq!(replaced, vec![p.name], "{path} = {value}");
                        }
                    }
                    _ => {
                        assert!(replaced.is_empty(), "{path} = {value} is {:?} in the table: {replaced:?}", p.on_update)
                    }
                }
            }
        }
    }

    #[test]
    fn every_property_is_named_once_per_object() {
        let paths: Vec<String> = flatten().into_iter().map(|(p, _)| p).collect();
        let mut unique = paths.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), paths.len(), "{paths:?}");
        assert!(find("Limits.MaxShards").is_some() && find("MaxShards").is_none());
    }
}
