"""Every diagnostic naftiko-gen can emit: stable id → severity, meaning, how to fix.

The rule table of docs/rules.md is printed from here (`naftiko-gen rules`), and a test checks that
every id the code emits is listed.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    meaning: str
    fix: str


# error: nothing is generated. warning: generated, but probably not what the author meant.
# note: an accepted deviation from the schema with one clear meaning (`validate --notes`).
_E, _W, _N = "error", "warning", "note"

RULES: tuple[Rule, ...] = (
    # reading files
    Rule(
        "naftiko-file-unreadable",
        _E,
        "a spec or folder named on the command line cannot be read",
        "check the path",
    ),
    Rule("naftiko-file-encoding", _E, "the file is not UTF-8", "save it as UTF-8"),
    Rule("naftiko-file-too-large", _E, "the file is over 8 MiB", "split the capability"),
    Rule(
        "naftiko-no-specs",
        _E,
        "no *.yaml/*.yml capability found in the folders named",
        "name spec files or folders that hold them",
    ),
    Rule("naftiko-yaml-syntax", _E, "YAML syntax error", "fix the YAML at the position shown"),
    Rule("naftiko-yaml-empty", _E, "the file is empty", "write a capability"),
    Rule(
        "naftiko-yaml-duplicate-key",
        _E,
        "a mapping repeats a key (YAML would silently keep the last)",
        "remove one of them",
    ),
    Rule(
        "naftiko-package-clash",
        _E,
        "two spec files produce the same Python package name",
        "rename one file",
    ),
    # families (build --compose, serve of several specs)
    Rule(
        "naftiko-family-tool-renamed",
        _N,
        "a tool name two capabilities of a family declare is listed as <capability>_<name>",
        "rename one tool to keep its name, or --exclude one of them",
    ),
    Rule(
        "naftiko-family-routes-prefixed",
        _W,
        "a route (method and path) two capabilities of a family declare: each one's routes are "
        "served under /<capability>",
        "change one path, or --exclude one of the routes",
    ),
    Rule(
        "naftiko-family-clash",
        _E,
        "a family would list two tools of one name, or its name is a member package's",
        "rename a tool or choose another --compose name",
    ),
    Rule(
        "naftiko-family-auth",
        _E,
        "an MCP server that requires callers' credentials cannot join a family's one endpoint",
        "--exclude its capability and serve it on its own",
    ),
    Rule(
        "naftiko-family-empty",
        _E,
        "--include / --exclude leave a family no route and no tool",
        "widen --include or narrow --exclude",
    ),
    # structure (the alpha2 JSON Schema)
    Rule(
        "naftiko-version",
        _E,
        "'naftiko' is missing or not 1.0.0-alpha1/alpha2/alpha3, and no 'ikanos: "
        "1.0.0-beta1'..'beta5' either",
        "write 'naftiko: 1.0.0-alpha2' (or a version docs/versions.md lists)",
    ),
    Rule(
        "naftiko-not-a-capability",
        _E,
        "the file is a shared consumes file, not a capability",
        "import it from a capability",
    ),
    Rule(
        "naftiko-schema-required",
        _E,
        "a required key is missing (a few are warnings where a default is clear)",
        "add the key",
    ),
    Rule("naftiko-schema-type", _E, "a value has the wrong type", "use the type the message names"),
    Rule(
        "naftiko-schema-range",
        _E,
        "a number outside the range the schema allows (trace sampling, trace buffer size)",
        "use a value within the range the message names",
    ),
    Rule(
        "naftiko-schema-enum",
        _E,
        "a value is not one of the allowed words",
        "use one of the listed values",
    ),
    Rule(
        "naftiko-exposes-required",
        _E,
        "the capability exposes nothing",
        "add a rest or mcp adapter",
    ),
    Rule(
        "naftiko-unknown-key",
        _W,
        "a key the schema does not know; it is ignored",
        "remove it or fix its spelling",
    ),
    Rule(
        "naftiko-schema-deviation",
        _N,
        "a common real-world deviation from the schema (e.g. 'description' on a rest adapter, 'type'/'required' on consumed parameters); accepted",
        "none needed; remove the key for strict schema validity",
    ),
    Rule(
        "naftiko-object-without-properties",
        _N,
        "an object output with a mapping and no 'properties'; read as the whole JSON value at that path",
        "add 'properties', or keep it as a pass-through",
    ),
    Rule("naftiko-lenient-boolean", _N, "a boolean written as a string", "write true/false"),
    Rule("naftiko-lenient-integer", _N, "a number written as a string", "write the number"),
    Rule(
        "naftiko-lenient-method", _N, "an HTTP method not in upper case", "write it in upper case"
    ),
    # consumes
    Rule(
        "naftiko-namespaces-unique", _E, "two adapters (or binds) share a namespace", "rename one"
    ),
    Rule(
        "naftiko-consumes-baseuri-no-trailing-slash",
        _N,
        "baseUri ends with '/'; it is removed",
        "remove the trailing '/'",
    ),
    Rule(
        "naftiko-consumes-baseuri-format",
        _E,
        "baseUri is not an absolute http(s) URL, or a placeholder in it names no environment "
        "variable",
        "write https://host[/prefix]",
    ),
    Rule(
        "naftiko-consumed-resource-no-query-in-path",
        _E,
        "a consumed resource path contains '?' or '#'",
        "declare query parameters with 'in: query'",
    ),
    Rule(
        "naftiko-consumed-resource-path-slash",
        _N,
        "a consumed resource path does not start with '/'; it is added",
        "start it with '/'",
    ),
    Rule(
        "naftiko-operation-names-unique",
        _E,
        "two operations of one consumes adapter share a name",
        "rename one; 'call' needs unique names",
    ),
    Rule("naftiko-unsupported-consumes", _E, "a consumes type other than http", "use type: http"),
    Rule(
        "naftiko-body-template",
        _E,
        "a request body template cannot be built structurally",
        "write {type: json, data: ...} or valid JSON with placeholders",
    ),
    Rule(
        "naftiko-get-with-body",
        _W,
        "a GET operation declares a body; it is never sent",
        "remove the body or use POST",
    ),
    Rule(
        "naftiko-path-secret",
        _E,
        "a path placeholder names a secret",
        "pass secrets in headers or auth, never in URLs",
    ),
    # auth and secrets
    Rule(
        "naftiko-unsupported-auth",
        _E,
        "an authentication type naftiko-gen cannot generate (ntlm, kerberos, oauth2 upstream, a signing kind on an exposed adapter …)",
        "use bearer, basic, digest, apikey, oauth1, aws-sig-v4, hmac or certificate",
    ),
    Rule(
        "naftiko-auth-incomplete",
        _E,
        "an auth block lacks a value it needs (apikey key/value, aws-sig-v4 region/service, oauth1 key, what hmac signs …)",
        "add it",
    ),
    Rule(
        "naftiko-secret-unresolved",
        _E,
        "an auth value uses {{VAR}} that no bind declares",
        "add the variable to 'binds'",
    ),
    Rule(
        "naftiko-literal-secret",
        _W,
        "an auth value is a literal string committed in the spec",
        "reference a bind: '{{VAR}}'",
    ),
    Rule(
        "naftiko-env-without-bind",
        _N,
        "{{env.X}} with no bind namespace 'env'; read from the environment directly",
        "declare the variable in binds",
    ),
    Rule(
        "naftiko-unsupported-bind-location",
        _E,
        "a bind location other than file:// (vault:// …)",
        "use environment variables or a file:// map",
    ),
    # exposes
    Rule(
        "naftiko-call-format",
        _E,
        "'call' is not 'namespace.operation'",
        "write namespace.operation",
    ),
    Rule(
        "naftiko-call-resolves",
        _E,
        "'call' names a namespace or operation that does not exist",
        "fix the name; the message suggests the closest one (did you mean …?)",
    ),
    Rule(
        "naftiko-with-unknown-param",
        _E,
        "'with' sets a parameter the called operation does not take (or fixes with its own "
        "'value')",
        "fix the name; the message suggests the closest one (did you mean …?)",
    ),
    Rule(
        "naftiko-with-ignored",
        _W,
        "'with' sets a parameter of an operation that declares none; the value is not sent "
        "(the Naftiko engine accepts this too)",
        "remove the key, or declare the parameter on the consumed operation",
    ),
    Rule(
        "naftiko-with-reference",
        _E,
        "a 'with' value reads an input the operation or tool does not declare",
        "fix the name (the message suggests the closest one) or declare the input",
    ),
    Rule(
        "naftiko-body-param-unfilled",
        _W,
        "a consumed body field that no declared input and no 'with' fills; it is left out of the "
        "body",
        "declare an input of that name, or set it with 'with'",
    ),
    Rule(
        "naftiko-body-param-required",
        _E,
        "a required consumed body field that no declared input and no 'with' fills",
        "declare an input of that name, or set it with 'with'",
    ),
    Rule(
        "naftiko-path-input",
        _W,
        "an input that fills a consumed path placeholder is read from the query, a header, a "
        "cookie or the body, or is declared 'required: false'; it is made required",
        "read it from a '{name}' placeholder of the route, or drop 'required: false'",
    ),
    Rule(
        "naftiko-nothing-to-do",
        _E,
        "an operation or tool has neither 'call' nor mock output values",
        "add 'call' or outputParameters with 'value'",
    ),
    Rule(
        "naftiko-jsonpath",
        _E,
        "a JSONPath outside the supported subset ($.a.b, $[0], $.a[*].b)",
        "simplify the expression",
    ),
    Rule(
        "naftiko-output-name",
        _E,
        "several outputParameters without distinct names",
        "name each one",
    ),
    Rule(
        "naftiko-output-format",
        _E,
        "a JSONPath mapping on a format that cannot be read as data (text)",
        "remove the mapping to pass the body through",
    ),
    Rule(
        "naftiko-output-schema",
        _E,
        "avro or protobuf output without a readable outputSchema (.avsc / .proto file)",
        "set outputSchema to the schema file, relative to the spec",
    ),
    Rule(
        "naftiko-ports-unique",
        _E,
        "two adapters of one capability listen on the same port",
        "give each its own port",
    ),
    Rule("naftiko-port-range", _E, "a port outside 1..65535", "choose a valid port"),
    Rule(
        "naftiko-address", _E, "an adapter address that is not a host name or IP", "fix the address"
    ),
    Rule(
        "naftiko-rest-path",
        _N,
        "a REST path without a leading '/', which is added (error: unbalanced braces)",
        "fix the path",
    ),
    Rule(
        "naftiko-rest-path-param",
        _E,
        "an 'in: path' input without a matching placeholder",
        "add the placeholder or change 'in'",
    ),
    Rule("naftiko-rest-path-param-unique", _E, "a REST path repeats a placeholder", "rename one"),
    Rule(
        "naftiko-rest-resource-path-no-trailing-slash",
        _W,
        "a REST path ends with '/'",
        "remove the trailing '/'",
    ),
    Rule(
        "naftiko-rest-safe-method-unsafe-call",
        _W,
        "a GET or HEAD REST operation calls an upstream POST, PUT, PATCH or DELETE: browsers and "
        "caches treat GET as safe, so links and prefetches would change data",
        "expose it with the upstream's method (POST, PUT, PATCH or DELETE)",
    ),
    Rule(
        "naftiko-rest-route-unique",
        _E,
        "the same method and path are exposed twice",
        "remove or rename one",
    ),
    Rule(
        "naftiko-rest-route-ambiguous",
        _W,
        "two routes of one method that one request could match with the same specificity (e.g. "
        "/items/{id} and /items/{name}); the first declared answers (a literal segment always "
        "wins over a placeholder, whatever the order)",
        "make one path more specific, or merge the two",
    ),
    Rule(
        "naftiko-consumed-param-location",
        _W,
        "a consumed parameter's 'in:' disagrees with its path: 'in: path' without a placeholder "
        "(never sent), or 'in: query/header/cookie' named like a placeholder (sent in the path "
        "only)",
        "declare it 'in: path' with a '{{name}}' placeholder in the consumed path",
    ),
    Rule(
        "naftiko-rest-reserved-path",
        _E,
        "a REST path clashes with /openapi.json",
        "choose another path",
    ),
    Rule(
        "naftiko-rest-docs-path",
        _W,
        "a REST path under /docs: the server keeps it and serves no API docs page (/docs)",
        "choose another path to get the /docs page",
    ),
    Rule(
        "naftiko-mcp-tool-name-format",
        _E,
        "an MCP tool name outside ^[A-Za-z0-9._-]{1,128}$",
        "rename the tool",
    ),
    Rule(
        "naftiko-mcp-tool-name-unique",
        _E,
        "two tools of one MCP adapter share a name",
        "rename one",
    ),
    Rule(
        "naftiko-mcp-stdio-port",
        _W,
        "a stdio MCP adapter declares a port; ignored",
        "remove the port",
    ),
    Rule(
        "naftiko-identifier-collision",
        _N,
        "tool names that become the same Python identifier; a suffix keeps them apart",
        "none needed; rename for clearer code",
    ),
    # orchestration, aggregates, forward
    Rule(
        "naftiko-step-name-unique",
        _E,
        "two steps of one operation, tool or function share a name",
        "rename one; mappings and later steps refer to steps by name",
    ),
    Rule(
        "naftiko-step-reference",
        _E,
        "a step or mapping reads a step that does not exist or has not run yet, an input that is "
        "not declared, or a field a lookup does not keep; or a called operation lacks a value",
        "fix the name (the message suggests one), reorder the steps, or add the field or 'with'",
    ),
    Rule(
        "naftiko-step-lookup",
        _E,
        "a lookup step lacks index/match/lookupValue/outputParameters, or looks up in a step "
        "that is not an earlier call step (an array)",
        "name an earlier call step in 'index'",
    ),
    Rule(
        "naftiko-step-script",
        _E,
        "a 'script' step: spec-supplied scripts are never generated (the code would not be "
        "reviewable, static Python)",
        "replace it with call and lookup steps, or call a service that does the work",
    ),
    Rule(
        "naftiko-ref-resolves",
        _E,
        "'ref' names an aggregate function that no aggregate declares",
        "fix the name (aggregateNamespace.functionName); the message suggests the closest one",
    ),
    Rule(
        "naftiko-safe-method",
        _W,
        "a 'safe' aggregate function is exposed as a REST method other than GET",
        "expose it as GET, or drop 'safe' if it changes state",
    ),
    Rule(
        "naftiko-forward-target",
        _E,
        "a REST 'forward' names a consumes namespace that does not exist, or a trusted header "
        "that is not a header name (warning: a connection header, never copied)",
        "fix 'targetNamespace' or the header name",
    ),
    Rule(
        "naftiko-control-unique",
        _E,
        "a second 'control' adapter (a capability has one management plane)",
        "remove one",
    ),
    Rule(
        "naftiko-control-unsupported",
        _W,
        "a control adapter setting naftiko-gen does not serve (reload, validate, logs, scripting, traces, exporters)",
        "none; health, status and metrics are served, the setting is ignored",
    ),
    Rule(
        "naftiko-oauth2-jwks",
        _E,
        "an oauth2 adapter's key set: 'jwks' names no readable JWKS file, 'jwksUri' is not an http(s) URL, or 'tokenValidation: introspection' (not supported)",
        "point 'jwks' at a JSON Web Key Set file beside the spec, or 'jwksUri' at the authorization server's keys (or leave both out: they are discovered from 'authorizationServerUri')",
    ),
    Rule(
        "naftiko-file-location",
        _E,
        "a resource, prompt or skill 'location' is missing, of the wrong kind (folder/file), "
        "outside the spec's folder, or not UTF-8 text",
        "point it at a folder or file under the spec's folder: file:///./docs",
    ),
    Rule(
        "naftiko-skill-location",
        _W,
        "a skill's 'location' folder does not exist: that skill is left out of the package",
        "create the folder, or point 'location' at it (file:///absolute/folder or file:///./folder)",
    ),
    Rule(
        "naftiko-mcp-resource-uri",
        _E,
        "an MCP resource uri is used twice, has a stray brace, has placeholders on a static "
        "resource, or lacks a placeholder its call needs",
        "give each resource its own uri; {name} placeholders only on call/steps resources",
    ),
    Rule(
        "naftiko-mcp-prompt-name-unique",
        _E,
        "two prompts of one MCP adapter share a name",
        "rename one",
    ),
    Rule(
        "naftiko-mcp-prompt-argument",
        _W,
        "a prompt uses a {{placeholder}} that is not one of its arguments; it is sent as written",
        "declare the argument or remove the placeholder",
    ),
    Rule(
        "naftiko-skill-tool",
        _E,
        "a skill tool has neither or both of 'from' and 'instruction', comes from an unknown "
        "adapter or tool, or names an instruction file its skill's location lacks",
        "point 'from' at a sibling rest or mcp adapter's operation or tool",
    ),
    Rule(
        "naftiko-consumed-path",
        _E,
        "a consumed path has a brace that is not a {name} placeholder",
        "fix the placeholder",
    ),
    Rule(
        "naftiko-input-names-unique",
        _E,
        "an operation or tool declares an input twice",
        "remove one",
    ),
    Rule(
        "naftiko-pattern",
        _E,
        "an input 'pattern' is not a valid regular expression",
        "fix the regex",
    ),
    # imports
    Rule(
        "naftiko-import-not-found",
        _E,
        "an imported consumes file does not exist",
        "fix 'location' (relative to the spec file)",
    ),
    Rule(
        "naftiko-import-namespace",
        _E,
        "the imported file has no consumes with that namespace",
        "fix 'import'",
    ),
    # OpenAPI enrichment (--openapi NS=FILE, or openapi/<NS>.yaml beside the spec)
    Rule(
        "naftiko-openapi-unreadable",
        _E,
        "an upstream OpenAPI document (--openapi or openapi/<namespace>.yaml) cannot be used",
        "fix the path, or give an OpenAPI 3.x / Swagger 2.0 document in YAML or JSON",
    ),
    Rule(
        "naftiko-openapi-unmatched",
        _W,
        "a consumed operation is not in its upstream's OpenAPI document (method and path "
        "template), or no spec consumes the namespace given to --openapi",
        "fix the consumed path or method, or the namespace; the operation is generated "
        "without the document's schemas",
    ),
    # per-operation degradation (generator/degrade.py) and dialects of real-world specs
    Rule(
        "naftiko-operation-skipped",
        _W,
        "a consumed operation, route or tool cannot be generated and is skipped; the message "
        "carries the original problem and rule; the rest of the spec is generated",
        "fix the problem named; build --strict / validate --strict fail on it",
    ),
    Rule(
        "naftiko-dialect-operation-id",
        _N,
        "a consumed operation is named by 'id' instead of 'name'; it is read as its name",
        "write 'name:'",
    ),
    Rule(
        "naftiko-dialect-operation-path",
        _N,
        "a consumed operation has its own 'path'; it is appended to its resource's path",
        "declare a resource with the full path",
    ),
    Rule(
        "naftiko-dialect-path-query",
        _N,
        "a consumed resource path carries a query string ('/search?type=all'); its pairs are "
        "sent as fixed query parameters",
        "declare them as inputParameters with 'in: query' and 'value'",
    ),
    Rule(
        "naftiko-auth-extension",
        _N,
        "an authentication type beyond the alpha2 schema (oauth1, aws-sig-v4, hmac, "
        "certificate); requests are signed with it",
        "none needed; other Naftiko tools may not know the type",
    ),
    Rule(
        "naftiko-dialect-auth-key",
        _N,
        "'auth' is written for 'authentication'; it is read as 'authentication'",
        "write 'authentication:'",
    ),
    Rule(
        "naftiko-dialect-body-type",
        _N,
        "body type 'form' or 'multipart' is read as formUrlEncoded or multipartForm",
        "write the schema's body type",
    ),
    Rule(
        "naftiko-dialect-body-binary",
        _N,
        "body type 'binary' (beyond the alpha2 schema): the caller's raw bytes go upstream with "
        "the caller's Content-Type (default application/octet-stream); REST routes take the raw "
        "request body, MCP tools a base64 'body' and an optional 'contentType'",
        "none needed; other Naftiko tools may not know the body type",
    ),
    Rule(
        "naftiko-dialect-param-type",
        _N,
        "parameter type 'json' is read as 'object' (any JSON value)",
        "write 'type: object'",
    ),
    Rule(
        "naftiko-dialect-param-in",
        _N,
        "an exposed REST input has no 'in'; it is a query parameter",
        "write 'in: query'",
    ),
    Rule(
        "naftiko-dialect-secret-env",
        _N,
        "a secret '{{VAR}}' is declared by no bind; it is the environment variable VAR, "
        "required at start-up",
        "declare it in 'binds'",
    ),
    Rule(
        "naftiko-dialect-path-param-input",
        _W,
        "a consumed path parameter that the exposed route neither has as a placeholder nor sets "
        "in 'with' becomes a required input of the route (query parameter) or tool",
        "add a path placeholder or 'with'",
    ),
    Rule(
        "naftiko-dialect-baseuri-env",
        _N,
        "a baseUri with placeholders ('{{VAR}}', '{{env.VAR}}', '{name}'); each is an environment "
        "variable ('{name}' in upper snake case) read at start-up, which fails naming a missing "
        "one; <NS>_BASE_URL still overrides the whole URL",
        "none needed; write a literal URL to fix it in the spec",
    ),
    Rule(
        "naftiko-dialect-rest-path-encoded",
        _N,
        "an exposed REST path with spaces or non-ASCII characters; callers send it "
        "percent-encoded (UTF-8), and the route matches the decoded path",
        "none needed; write ASCII paths for callers that do not encode",
    ),
    Rule(
        "naftiko-dialect-method",
        _N,
        "method HEAD or OPTIONS, beyond the alpha2 schema's enum; generated like the others "
        "(REST route, upstream call, MCP tool)",
        "none needed; other Naftiko tools may not know the method",
    ),
    Rule(
        "naftiko-dialect-consumes-twice",
        _W,
        "a consumes namespace is declared twice; the second declaration is skipped and calls "
        "use the first",
        "remove one, or give it its own namespace",
    ),
    Rule(
        "naftiko-dialect-mcp-default-port",
        _N,
        "an http MCP adapter without a port listens on 9090, or the next port no other adapter "
        "of the spec names",
        "write 'port:'",
    ),
    Rule(
        "naftiko-auth-from-env",
        _W,
        "a consumes authentication block lacks a field; it is the environment variable "
        "<NS>_API_KEY_NAME / <NS>_API_KEY (apikey name / key), <NS>_TOKEN (bearer), "
        "<NS>_USERNAME / <NS>_PASSWORD (basic, digest), required at start-up; the message names "
        "the rule the block breaks",
        "write 'key:' and 'value:' (a '{{VAR}}' bind for the key)",
    ),
    # published versions (generator/naftiko_gen/reader/versions.py, docs/versions.md)
    Rule(
        "naftiko-version-alpha1",
        _N,
        "a 1.0.0-alpha1 document is read as alpha2 (its subset); an alpha1 'items' list of "
        "shapes is read as its first shape",
        "write 'naftiko: 1.0.0-alpha2' and 'items' as one shape",
    ),
    Rule(
        "naftiko-version-alpha1-items",
        _W,
        "an alpha1 'items' list holds more than one shape; all but the first are ignored",
        "merge the shapes into one",
    ),
    Rule(
        "naftiko-version-alpha3",
        _N,
        "a 1.0.0-alpha3 document is read as alpha2 with its additions (aggregates, ref, "
        "semantics, control, oauth2, mcp authentication); 'script' steps are refused per tool",
        "none needed",
    ),
    Rule(
        "naftiko-version-ikanos",
        _N,
        "an Ikanos 'ikanos: 1.0.0-beta1'..'beta5' document is read into the alpha2 model; the "
        "naftiko-version-* notes that follow say what was adapted",
        "none needed; `naftiko-gen validate --notes` lists the adaptations",
    ),
    Rule(
        "naftiko-version-keyed",
        _N,
        "beta collections keyed by name (resources, operations, tools, inputParameters, steps, "
        "flows, outputParameters, ...) are read as lists, each entry named by its key",
        "none needed",
    ),
    Rule(
        "naftiko-version-display",
        _N,
        "beta 'display' is read as 'label'",
        "none needed",
    ),
    Rule(
        "naftiko-version-import-entry",
        _N,
        "a beta ImportEntry {import, from, as} is read as an alpha2 import {import, location, as}",
        "none needed",
    ),
    Rule(
        "naftiko-version-flows",
        _N,
        "beta aggregate 'flows' are read as aggregate 'functions' (what 'ref' names)",
        "none needed",
    ),
    Rule(
        "naftiko-version-mapping-target",
        _N,
        "a beta step mapping 'target' is read as 'targetName'",
        "none needed",
    ),
    Rule(
        "naftiko-version-items",
        _N,
        "beta 'items' keyed by property name is read as 'items: {type: object, properties}'",
        "none needed",
    ),
    Rule(
        "naftiko-version-method-default",
        _N,
        "a beta operation without 'method' is a GET (the beta default)",
        "none needed",
    ),
    Rule(
        "naftiko-version-ignored",
        _N,
        "beta keys with no effect in generated servers (tags, outputMediaType, responses, "
        "responseBinary, info created/modified/stakeholders/version) are ignored",
        "none needed",
    ),
    Rule(
        "naftiko-version-cache",
        _N,
        "beta MCP caching hints 'ttlMs' and 'cacheScope' are ignored: no caching hint is sent",
        "none needed",
    ),
    Rule(
        "naftiko-version-binary-size",
        _N,
        "beta 'maxBinarySize' is checked as a size ('512KiB', '10MiB') and not enforced: binary "
        "responses are passed on as they come; a malformed size is an error",
        "write a size like '10MiB'",
    ),
    Rule(
        "naftiko-version-binary-resource",
        _W,
        "beta MCP resource 'binary: true' (a blob) has no equivalent; the resource is generated "
        "as text",
        "serve binary content through a tool with outputRawFormat: binary",
    ),
    Rule(
        "naftiko-version-tunnel",
        _E,
        "a beta consumes adapter reached through a 'tunnel' (e.g. ziti) cannot be dialled; the "
        "adapter and the routes and tools calling it are skipped",
        "remove 'tunnel' to call the baseUri directly",
    ),
)

BY_ID = {r.id: r for r in RULES}


def markdown_table() -> str:
    lines = ["| rule | severity | what it means | how to fix |", "| --- | --- | --- | --- |"]
    for r in RULES:
        lines.append(f"| `{r.id}` | {r.severity} | {r.meaning} | {r.fix} |")
    return "\n".join(lines) + "\n"
