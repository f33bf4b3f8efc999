package analyzer

import (
	"regexp"
	"strings"
)

// Entry is one row of the diagnosis table: what a failure the analyzer can
// see means, its likely causes in the order to check them, and the fix,
// with the Exchange Management Shell commands that apply it.
//
// Commands are templates: {Name} is replaced by the PowerShell-quoted value
// of a context field and {=Name} by its raw value; an unknown field is
// written <Name> for the administrator to fill in. Fields: ServiceAccount,
// Mailbox, Folder (display name, e.g. Inbox), FolderID, Scope, Group,
// GroupDN, Assignment, ExclusiveScope, Host, EwsURL, Domain.
type Entry struct {
	Key      string
	Meaning  string
	Causes   []string
	Fix      string
	Commands []string
}

// Table is the diagnosis table. Keys are EWS response codes as sent by the
// server, "Actas:<reason>" for the machine-readable reason Actas adds to
// impersonation faults, "HTTP <status>" forms, "x-ms-diagnostics <code>",
// and the analyzer's own names for transport, TLS, Autodiscover and
// beyond-Microsoft checks.
var Table = []Entry{
	// --- impersonation (ews-protocol.md §2; pain-points.md §2 rows 1–3, 12–16) ---
	{Key: "ErrorImpersonationDenied",
		Meaning: "The service account may not impersonate anyone: it holds no (enabled) ApplicationImpersonation role assignment.",
		Causes: []string{
			"No ApplicationImpersonation assignment was ever made for the account (being a Global Admin or Organization Management member is not enough).",
			"The assignment was made to a role group the account is not a member of.",
			"Every ApplicationImpersonation assignment of the account is disabled.",
			"On Exchange: the assignment is too new to have replicated (up to an hour; Actas applies it at once).",
		},
		Fix: "Assign the ApplicationImpersonation role to the service account, limited by a management scope that holds the mailboxes it serves.",
		Commands: []string{
			`New-ManagementScope -Name {Scope} -RecipientRestrictionFilter "MemberOfGroup -eq '{=GroupDN}'"`,
			`New-ManagementRoleAssignment -Role ApplicationImpersonation -User {ServiceAccount} -CustomRecipientWriteScope {Scope}`,
			`Test-ApplicationImpersonation -Identity {ServiceAccount} -Resource {Mailbox}`,
		}},
	{Key: "ErrorImpersonateUserDenied",
		Meaning: "The service account may impersonate, but not this mailbox: the mailbox is outside the write scope of its ApplicationImpersonation assignments.",
		Causes: []string{
			"The mailbox is outside the management scope (e.g. not a member of the group a MemberOfGroup scope names, or the filter names the group by name instead of its distinguished name).",
			"The account has no ApplicationImpersonation assignment at all (some servers answer this code for that too).",
			"The mailbox is held by an exclusive scope that the assignment does not use.",
			"The assignment or the group change is too new to have replicated (Exchange; Actas applies changes at once).",
			"Exchange Online only: a transient service-side failure; retry in an hour.",
		},
		Fix: "Bring the mailbox into the assignment's scope (add it to the scope's group, or widen the filter), or assign the role with a scope that covers it.",
		Commands: []string{
			`Get-ManagementRoleAssignment -RoleAssignee {ServiceAccount} -Role ApplicationImpersonation | Format-List Name,CustomRecipientWriteScope,Enabled`,
			`Add-DistributionGroupMember -Identity {Group} -Member {Mailbox}`,
			`Test-ApplicationImpersonation -Identity {ServiceAccount} -Resource {Mailbox}`,
		}},
	{Key: "ErrorNonExistentMailbox",
		Meaning: "The server has no mailbox for this address.",
		Causes: []string{
			"The address is misspelled, or it belongs to a recipient without a mailbox (a contact, a mail user, a group).",
			"The mailbox was created moments ago and is not provisioned yet (Exchange).",
			"Hybrid: the mailbox lives in the other premises (a RemoteUserMailbox); query that organization's EWS.",
			"The address belongs to another organization (Actas answers exactly like an unknown address then).",
		},
		Fix:      "Check the address and that it is a mailbox of this organization.",
		Commands: []string{`Get-Recipient -Identity {Mailbox} | Format-List Name,RecipientTypeDetails,PrimarySmtpAddress,EmailAddresses`}},
	{Key: "ErrorNonPrimarySmtpAddress",
		Meaning: "ConnectingSID PrimarySmtpAddress named a secondary (proxy) address of the mailbox.",
		Causes: []string{
			"An alias or secondary address was given with --id-type PrimarySmtpAddress; the server wants the primary address (its answer names it).",
		},
		Fix:      "Use the primary SMTP address, or --id-type SmtpAddress, which accepts any address of the mailbox.",
		Commands: []string{`Get-Mailbox -Identity {Mailbox} | Format-List PrimarySmtpAddress,EmailAddresses`}},
	{Key: "ErrorInvalidUserPrincipalName",
		Meaning: "ConnectingSID PrincipalName does not name a user of the directory.",
		Causes: []string{
			"The mailbox's user principal name differs from its email address (pass the UPN with --id).",
			"The UPN is of a user in another forest or domain the server cannot reach.",
		},
		Fix:      "Look up the mailbox's UserPrincipalName and pass it with --id, or use --id-type SmtpAddress.",
		Commands: []string{`Get-User -Identity {Mailbox} | Format-List UserPrincipalName`}},
	{Key: "ErrorInvalidSid",
		Meaning: "ConnectingSID SID is not a valid SID, or no mailbox has it.",
		Causes: []string{
			"The SID is mistyped or is not in S-1-5-21-… form.",
			"The SID belongs to another account (e.g. the service account) or to a deleted user.",
		},
		Fix:      "Look up the mailbox user's SID and pass it with --id.",
		Commands: []string{`Get-User -Identity {Mailbox} | Format-List Sid`}},
	{Key: "ErrorInvalidUserSid",
		Meaning:  "The SID in the impersonation header does not identify a user.",
		Causes:   []string{"The SID is mistyped, or belongs to a group or a deleted account."},
		Fix:      "Look up the mailbox user's SID and pass it with --id.",
		Commands: []string{`Get-User -Identity {Mailbox} | Format-List Sid`}},
	{Key: "ErrorInvalidSmtpAddress",
		Meaning: "The SMTP address in the impersonation header is not a syntactically valid address.",
		Causes:  []string{"A typo, a display name, or a DOMAIN\\user name was given instead of an address."},
		Fix:     "Pass the mailbox's SMTP address with --mailbox."},
	{Key: "ErrorInvalidExchangeImpersonationHeaderData",
		Meaning: "The ExchangeImpersonation header is malformed (no identifier, an empty one, or several), or present where the token type forbids it.",
		Causes: []string{
			"The identifier value is empty.",
			"Exchange Online with OAuth: a delegated (user) token was sent with the header, or an app-only token without it.",
		},
		Fix: "Send exactly one non-empty ConnectingSID identifier; with OAuth, use an app-only token with the header."},
	{Key: "ErrorImpersonationFailed",
		Meaning: "The server failed internally while impersonating (not a permission answer).",
		Causes: []string{
			"The directory was unreachable or a forest trust is broken (Exchange).",
			"The EWS application pool account lacks rights (Exchange).",
			"A server bug in impersonation-header processing; note the request-id and retry.",
		},
		Fix: "Retry; if it persists, collect the request-id and server time from this report for the server's administrator."},

	// --- what Actas says about an impersonation denial (t:Value Name="ActasReason") ---
	{Key: "Actas:NoApplicationImpersonationAssignment",
		Meaning: "Actas confirms: the service account holds no ApplicationImpersonation role assignment, directly or through a group.",
		Causes:  []string{"The role was never assigned to this account (Organization Management membership does not imply it)."},
		Fix:     "Assign ApplicationImpersonation to the account with a scope that holds the mailboxes it serves.",
		Commands: []string{
			`New-ManagementScope -Name {Scope} -RecipientRestrictionFilter "MemberOfGroup -eq '{=GroupDN}'"`,
			`New-ManagementRoleAssignment -Role ApplicationImpersonation -User {ServiceAccount} -CustomRecipientWriteScope {Scope}`,
		}},
	{Key: "Actas:AssignmentDisabled",
		Meaning: "Actas confirms: every ApplicationImpersonation assignment of the service account is disabled.",
		Causes:  []string{"An administrator disabled the assignment (Set-ManagementRoleAssignment -Enabled $false)."},
		Fix:     "Enable the assignment.",
		Commands: []string{
			`Get-ManagementRoleAssignment -RoleAssignee {ServiceAccount} -Role ApplicationImpersonation | Format-Table Name,Enabled`,
			`Set-ManagementRoleAssignment -Identity {Assignment} -Enabled $true`,
		}},
	{Key: "Actas:OutsideWriteScope",
		Meaning: "Actas confirms: the mailbox does not match the write scope of any of the service account's ApplicationImpersonation assignments.",
		Causes: []string{
			"The mailbox is not a member of the group the scope's MemberOfGroup clause names.",
			"Another clause of the scope's filter excludes it (see the explanation below for which one).",
			"The assignment's write scope is Self or MyDistributionGroups, which covers almost nothing.",
		},
		Fix: "Make the mailbox match the scope (add it to the group), or change the scope's filter.",
		Commands: []string{
			`Add-DistributionGroupMember -Identity {Group} -Member {Mailbox}`,
			`Set-ManagementScope -Identity {Scope} -RecipientRestrictionFilter "<a filter that matches the mailbox>"`,
			`Test-ApplicationImpersonation -Identity {ServiceAccount} -Resource {Mailbox}`,
		}},
	{Key: "Actas:HeldByExclusiveScope",
		Meaning:  "Actas confirms: the mailbox is held by an exclusive management scope, and only assignments that use that scope may act on it.",
		Causes:   []string{"The mailbox is protected (e.g. an executive) by an exclusive scope the service account's assignment does not use."},
		Fix:      "If the service must reach it, assign the role with the exclusive scope as well.",
		Commands: []string{`New-ManagementRoleAssignment -Role ApplicationImpersonation -User {ServiceAccount} -ExclusiveRecipientWriteScope {ExclusiveScope}`}},
	{Key: "Actas:TargetUnknown",
		Meaning:  "Actas confirms: no mailbox of the service account's organization has this identifier.",
		Causes:   []string{"The address, UPN or SID is wrong, or the mailbox is in another organization."},
		Fix:      "Check the identifier.",
		Commands: []string{`Get-Recipient -Identity {Mailbox}`}},
	{Key: "Actas:TargetInAnotherOrganization",
		Meaning: "The mailbox is in another organization (reported like an unknown mailbox).",
		Causes:  []string{"The service account and the mailbox belong to different tenants."},
		Fix:     "Use a service account of the mailbox's organization."},

	// --- delegate access (ews-protocol.md §2 "Delegate access compared with impersonation") ---
	{Key: "ErrorAccessDenied",
		Meaning: "The account authenticated but lacks rights on this mailbox or folder.",
		Causes: []string{
			"Delegate mode: the account has no folder permission (or only one that hides the folder) on the folder, and no FullAccess on the mailbox.",
			"The permission was granted to a group the server does not expand, or to another account.",
			"The request asked for more than the permission gives (e.g. reading items with a Contributor right).",
		},
		Fix: "Grant the account a folder permission (Reviewer to read), or FullAccess on the mailbox, or use impersonation.",
		Commands: []string{
			`Add-MailboxFolderPermission -Identity {FolderPath} -User {ServiceAccount} -AccessRights Reviewer`,
			`Get-MailboxFolderPermission -Identity {FolderPath}`,
		}},
	{Key: "ErrorFolderNotFound",
		Meaning: "The folder was not found, or is not visible to the caller (servers also use this code for \"no permission\").",
		Causes: []string{
			"Delegate mode without a permission that makes the folder visible.",
			"The distinguished folder does not exist in this mailbox (e.g. archive folders without an archive).",
		},
		Fix:      "Grant a folder permission, or test another folder.",
		Commands: []string{`Add-MailboxFolderPermission -Identity {FolderPath} -User {ServiceAccount} -AccessRights Reviewer`}},
	{Key: "ErrorItemNotFound",
		Meaning: "The object was not found in the store (or is not visible to the caller).",
		Causes:  []string{"No permission on the folder (delegate mode).", "The item moved (item ids change on move)."},
		Fix:     "Grant a folder permission, or find the item again."},
	{Key: "ErrorMissingEmailAddress",
		Meaning: "The account has no mailbox of its own and used a distinguished folder without naming the mailbox.",
		Causes:  []string{"A service account without a mailbox, in delegate mode, without a Mailbox element."},
		Fix:     "Name the mailbox (actas check always does in delegate mode) or give the service account a mailbox."},
	{Key: "ErrorNotDelegate",
		Meaning: "The account is not a delegate of the mailbox.",
		Causes:  []string{"Delegate operations need the account added as a delegate (Outlook delegates), not only a folder permission."},
		Fix:     "Add the account as a delegate, grant a folder permission, or use impersonation."},
	{Key: "ErrorWrongServerVersionDelegate",
		Meaning: "The delegate's and the owner's mailbox servers run different versions.",
		Causes:  []string{"A mixed-version Exchange organization during a migration."},
		Fix:     "Move both mailboxes to the same version, or use impersonation."},
	{Key: "ErrorSubscriptionDelegateAccessNotSupported",
		Meaning: "Delegates may not create notification subscriptions on another mailbox.",
		Causes:  []string{"Delegate mode: Exchange allows subscriptions only to the owner or under impersonation."},
		Fix:     "Use impersonation for notifications."},

	// --- routing, throttling (ews-protocol.md §3; pain-points.md §2 rows 11, 17–22) ---
	{Key: "ErrorNoRespondingCASInDestinationSite",
		Meaning: "The front end could not route the request to a server of the mailbox's site.",
		Causes:  []string{"X-AnchorMailbox was not sent (or named another mailbox).", "The mailbox's site has no working Client Access server."},
		Fix:     "Send X-AnchorMailbox with the target's address on every impersonated request."},
	{Key: "ErrorServerBusy",
		Meaning: "Throttling: the server refuses the request for now and says how long to back off (BackOffMilliseconds).",
		Causes: []string{
			"The service account (or, in Exchange Online, the target mailbox's shared budget) exceeded its EWS throttling policy.",
			"Too many parallel calls (ConcurrentSyncCalls, EWSMaxConcurrency).",
		},
		Fix: "Back off for the time given and lower the concurrency; on-premises, give the service account its own throttling policy.",
		Commands: []string{
			`New-ThrottlingPolicy -Name {=ServiceAccount}-Policy -EwsMaxConcurrency 50 -EwsMaxBurst Unlimited -EwsRechargeRate Unlimited -EwsCutoffBalance Unlimited`,
			`Set-ThrottlingPolicyAssociation -Identity {ServiceAccount} -ThrottlingPolicy {=ServiceAccount}-Policy`,
		}},
	{Key: "ErrorExceededConnectionCount",
		Meaning: "Too many concurrent connections for the account's budget (EWSMaxConcurrency, or HangingConnectionLimit for streaming).",
		Causes:  []string{"More parallel requests than the policy allows (27 in Exchange Online, 10 in Exchange 2010).", "Impersonation in Exchange Online is charged to the target mailbox's budget, shared by every application."},
		Fix:     "Lower concurrency; batch streaming subscriptions (up to 200 per connection)."},
	{Key: "ErrorExceededSubscriptionCount",
		Meaning: "The subscription limit (EWSMaxSubscriptions) is reached.",
		Causes:  []string{"Subscriptions are not unsubscribed, or too many mailboxes per service account."},
		Fix:     "Unsubscribe unused subscriptions; spread mailboxes over accounts or raise the policy (on-premises)."},
	{Key: "ErrorExceededFindCountLimit",
		Meaning: "A Find operation asked for more objects than EWSFindCountLimit allows (1000 by default).",
		Causes:  []string{"FindItem without paging."},
		Fix:     "Page with IndexedPageItemView."},
	{Key: "ErrorTimeoutExpired",
		Meaning: "The server gave up on the request (time-out) or it was cancelled.",
		Causes:  []string{"An overloaded server or mailbox database.", "A very large folder."},
		Fix:     "Retry with back-off; check server load."},
	{Key: "ErrorMailboxStoreUnavailable",
		Meaning: "The mailbox database is unavailable.",
		Causes:  []string{"The database is dismounted, failing over, or overloaded (Exchange)."},
		Fix:     "Retry later; check the database's state on the server."},
	{Key: "ErrorInternalServerError",
		Meaning: "The server failed internally.",
		Causes: []string{
			"A transient failure (load balancer failover): retry with jitter.",
			"An inner ErrorServerBusy (see InnerErrorResponseCode).",
			"A newly created mailbox not ready yet, or a server bug; note the request-id.",
		},
		Fix: "Retry; if it persists, give the request-id to the server's administrator."},
	{Key: "ErrorInternalServerTransientError",
		Meaning: "A transient server error.",
		Causes:  []string{"Load, failover or maintenance on the server."},
		Fix:     "Retry with back-off."},

	// --- notifications (ews-protocol.md §5; pain-points.md §2 rows 25–30) ---
	{Key: "ErrorSubscriptionNotFound",
		Meaning: "The subscription is unknown to the server that answered.",
		Causes:  []string{"Lost affinity: the request reached another back end (send X-AnchorMailbox and X-PreferServerAffinity, replay X-BackEndOverrideCookie).", "The subscription expired or the mailbox moved."},
		Fix:     "Subscribe again with affinity headers."},
	{Key: "ErrorInvalidSubscription",
		Meaning: "The subscription is invalid.",
		Causes:  []string{"The subscription id is malformed or belongs to another account."},
		Fix:     "Subscribe again."},
	{Key: "ErrorInvalidSubscriptionRequest",
		Meaning: "The Subscribe request is invalid.",
		Causes:  []string{"One Subscribe request spanned several mailboxes."},
		Fix:     "Subscribe once per mailbox."},
	{Key: "ErrorInvalidWatermark",
		Meaning: "The watermark is not valid for this subscription.",
		Causes:  []string{"A watermark from another subscription, or a corrupted one."},
		Fix:     "Subscribe again and use the watermark it returns."},
	{Key: "ErrorExpiredSubscription",
		Meaning: "The pull subscription expired (no GetEvents within its timeout).",
		Causes:  []string{"GetEvents was not called often enough."},
		Fix:     "Subscribe again and poll within the timeout."},
	{Key: "ErrorReadEventsFailed",
		Meaning: "The server could not read the subscription's events.",
		Causes:  []string{"The mailbox moved to another server or site, or the subscription vanished."},
		Fix:     "Run Autodiscover again and resubscribe."},
	{Key: "ErrorProxyRequestNotAllowed",
		Meaning: "The request could not be proxied to the mailbox's server.",
		Causes:  []string{"The mailbox moved to another site."},
		Fix:     "Run Autodiscover again and resubscribe."},
	{Key: "ErrorMissedNotificationEvents",
		Meaning: "Events were lost for the subscription.",
		Causes:  []string{"An event gap on the server."},
		Fix:     "Resynchronize the folder (SyncFolderItems) and resubscribe."},
	{Key: "ErrorInvalidOperation",
		Meaning: "The server does not support the operation, or not in this context.",
		Causes:  []string{"The server does not implement it (Actas answers this for operations it has not implemented yet)."},
		Fix:     "Use another operation, or a server version that supports it."},

	// --- version and schema (pain-points.md §2 rows 38–41) ---
	{Key: "ErrorInvalidServerVersion",
		Meaning: "The server does not accept RequestServerVersion Exchange2016.",
		Causes:  []string{"An older server (Exchange 2010 or 2013) that does not know the Exchange2016 schema value."},
		Fix:     "This server is older than Exchange 2016; clients must send an older RequestServerVersion."},
	{Key: "ErrorIncorrectSchemaVersion",
		Meaning: "The operation needs a newer RequestServerVersion than the one sent.",
		Causes:  []string{"A client sending an old version header."},
		Fix:     "Send a newer RequestServerVersion."},
	{Key: "ErrorInvalidRequest",
		Meaning: "The server considers the request invalid.",
		Causes:  []string{"The server does not speak this EWS schema (e.g. an unknown version), or the body is not an EWS operation."},
		Fix:     "Check the EWS URL points at an Exchange Web Services endpoint."},
	{Key: "ErrorSchemaValidation",
		Meaning: "The request failed the server's schema validation.",
		Causes:  []string{"An element newer than the server's schema (an older Exchange)."},
		Fix:     "Check the server version; report the LineNumber/Violation values if it persists."},
	{Key: "ews-unknown-code",
		Meaning: "The server answered with an EWS response code the analyzer has no entry for.",
		Causes:  []string{"See the server's message text; Microsoft's ResponseCode reference lists every code."},
		Fix:     "Search the code in the EWS ResponseCode reference."},

	// --- HTTP (pain-points.md §2 rows 4, 8, 9, 21, 22, 44–48; ews-protocol.md §3, §9) ---
	{Key: "HTTP 401",
		Meaning: "The server refused the credentials.",
		Causes: []string{
			"Wrong password (a password file with extra characters counts: only a trailing newline is removed).",
			"The user name is in the wrong form: try the UPN (user@domain), then DOMAIN\\user.",
			"The account is disabled, locked out, or has no mailbox (Actas accepts only mailbox-enabled accounts).",
			"Basic authentication is disabled for EWS (Exchange Online; on-premises by policy), or only NTLM/Negotiate is offered.",
		},
		Fix: "Check the account and reset its password if unsure.",
		Commands: []string{
			`Get-Mailbox -Identity {ServiceAccount} | Format-List UserPrincipalName,AccountDisabled`,
			`Set-Mailbox -Identity {ServiceAccount} -Password (Read-Host -AsSecureString 'New password')`,
		}},
	{Key: "HTTP 401 Basic disabled",
		Meaning: "Exchange Online style answer: Basic authentication is disabled for EWS; the server wants an OAuth bearer token.",
		Causes: []string{
			"Microsoft turned Basic authentication off for Exchange Online EWS; passwords no longer work.",
			"An on-premises server with Hybrid Modern Authentication and Basic disabled.",
		},
		Fix: "Use OAuth: an app registration with the full_access_as_app application permission (admin consent) and the ExchangeImpersonation header; this analyzer tests Basic only."},
	{Key: "HTTP 403",
		Meaning: "The server understood the request and refused it by policy.",
		Causes: []string{
			"EWS is disabled for the mailbox or the organization (EWSEnabled false; since April 2025 the organization setting wins in Exchange Online).",
			"An application access policy or EWS allow/block list (by user agent) excludes this client or mailbox.",
			"Exchange Online \"scream test\" blocks during EWS retirement.",
			"A reverse proxy or WAF blocks the path.",
		},
		Fix: "Check EWS access for the mailbox and the organization.",
		Commands: []string{
			`Get-CASMailbox -Identity {Mailbox} | Format-List EwsEnabled,EwsAllowList,EwsBlockList`,
			`Set-CASMailbox -Identity {Mailbox} -EwsEnabled $true`,
			`Get-OrganizationConfig | Format-List EwsEnabled,EwsApplicationAccessPolicy`,
		}},
	{Key: "HTTP 404",
		Meaning: "There is no EWS endpoint at this URL.",
		Causes: []string{
			"The path is wrong: EWS lives at /EWS/Exchange.asmx.",
			"The host is another web server (wrong host or port), or a reverse proxy does not publish /EWS.",
			"EWS was disabled or removed after maintenance.",
		},
		Fix:      "Use Autodiscover (omit --ews-url), or ask for the configured EWS URL.",
		Commands: []string{`Get-WebServicesVirtualDirectory | Format-List InternalUrl,ExternalUrl`}},
	{Key: "HTTP 405",
		Meaning: "The URL does not accept POST: it is not an EWS endpoint.",
		Causes:  []string{"The URL points at a page or another service."},
		Fix:     "Use the EWS URL (…/EWS/Exchange.asmx) or Autodiscover."},
	{Key: "HTTP 400",
		Meaning: "The server rejected the HTTP request as malformed.",
		Causes:  []string{"A proxy in between rewrote the request, or the URL is not an EWS endpoint."},
		Fix:     "Test the EWS URL directly, bypassing proxies."},
	{Key: "HTTP 429",
		Meaning: "Too many requests: the server rate-limits this client.",
		Causes:  []string{"Too many failed sign-ins (Actas blocks an account or address for a while after repeated failures).", "A proxy's rate limit."},
		Fix:     "Wait for the Retry-After time, then check the password before trying again."},
	{Key: "HTTP 440",
		Meaning:  "Login Timeout: a forms-based authentication front end (OWA) intercepts EWS.",
		Causes:   []string{"Forms-based authentication is enabled on the EWS path, or Basic authentication is blocked there."},
		Fix:      "Enable Basic (or the intended scheme) on the EWS virtual directory.",
		Commands: []string{`Get-WebServicesVirtualDirectory | Format-List BasicAuthentication,WindowsAuthentication,OAuthAuthentication`}},
	{Key: "HTTP 456",
		Meaning: "The account is locked or needs attention (Exchange Online); the status text may carry an unlock URL.",
		Causes:  []string{"Account lockout or a required password change / MFA registration."},
		Fix:     "Sign in interactively as the service account and resolve the prompt."},
	{Key: "HTTP 500",
		Meaning: "The server failed with HTTP 500 and no EWS fault.",
		Causes: []string{
			"A load balancer failover or back-end outage: retry with jitter.",
			"The EWS application itself crashed (\"Server Error in '/EWS' Application\").",
			"A proxy in front of the server failed.",
		},
		Fix: "Retry; if it persists, collect the request-id and X-CasErrorCode headers for the server's administrator."},
	{Key: "HTTP 502",
		Meaning: "A gateway or proxy in front of the server got no valid answer from it.",
		Causes:  []string{"The server behind the proxy is down or unreachable from the proxy."},
		Fix:     "Check the server and the proxy's configuration."},
	{Key: "HTTP 503",
		Meaning: "The server is unavailable or throttling (requests queue in IIS); Retry-After says how long to wait.",
		Causes: []string{
			"Throttling or overload: honour Retry-After.",
			"Maintenance or a stopped application pool.",
			"Ambiguous in Exchange Online: revoked credentials or a blocked auth method also loop on 503; check authentication separately.",
		},
		Fix: "Wait for Retry-After and retry; if it never clears, check the account's authentication."},
	{Key: "HTTP 504",
		Meaning: "A gateway timed out waiting for the server.",
		Causes:  []string{"The server is overloaded or the proxy's timeout is too short."},
		Fix:     "Retry; check the proxy's timeout."},
	{Key: "HTTP 302 error page",
		Meaning: "Exchange redirected to its generic error page: the EWS application failed (IIS custom error), not a permission answer.",
		Causes: []string{
			"A transient failure of the EWS application or its back end (retry).",
			"The mailbox's back-end server is unreachable from the front end.",
			"A broken EWS virtual directory or application pool.",
		},
		Fix:      "Retry; if it persists, check the EWS application pool and the event log on the server.",
		Commands: []string{`Test-WebServicesConnectivity -ClientAccessServer <server> -MailboxCredential (Get-Credential {ServiceAccount})`}},
	{Key: "HTTP 3xx",
		Meaning: "The EWS URL answered with a redirect. EWS clients do not follow redirects for SOAP requests.",
		Causes: []string{
			"The URL is outdated (moved host) or uses http:// where https:// is required.",
			"A forms-based sign-in page (OWA) intercepts the path.",
		},
		Fix: "Use the URL the redirect names if it is an EWS endpoint, or use Autodiscover."},
	{Key: "HTTP unexpected",
		Meaning: "The server answered with an HTTP status the analyzer does not expect from EWS.",
		Causes:  []string{"The URL is not an EWS endpoint, or a proxy answered."},
		Fix:     "Check the URL and any proxy in between."},
	{Key: "not SOAP",
		Meaning: "The server answered HTTP 200, but not with a SOAP envelope: this is not an EWS endpoint.",
		Causes:  []string{"A web page, login portal or proxy answers at this URL.", "A captive portal or TLS-inspecting proxy."},
		Fix:     "Use the EWS URL (…/EWS/Exchange.asmx) or Autodiscover."},

	// --- x-ms-diagnostics (ews-protocol.md §3, §9; pain-points.md §2 row 4) ---
	{Key: "x-ms-diagnostics 2000000",
		Meaning: "OAuth: the token's signature is invalid.",
		Causes:  []string{"A token from another authority or a tampered token."},
		Fix:     "Request a new token from the tenant's authority."},
	{Key: "x-ms-diagnostics 2000001",
		Meaning: "OAuth: the token is invalid (malformed or not a token).",
		Causes:  []string{"No bearer token or a broken one was sent (Basic credentials against an OAuth-only endpoint produce this too)."},
		Fix:     "Authenticate with a valid OAuth token for https://outlook.office365.com."},
	{Key: "x-ms-diagnostics 2000002",
		Meaning: "OAuth: the token expired.",
		Causes:  []string{"A cached token past its exp time, or clock skew."},
		Fix:     "Request a new token."},
	{Key: "x-ms-diagnostics 2000003",
		Meaning: "OAuth: the token's audience (resource) is wrong.",
		Causes:  []string{"The token was requested for another resource, or SSL offloading changed the scheme of the audience URL (hybrid)."},
		Fix:     "Request the token for https://outlook.office365.com/.default (or the on-premises EWS host)."},
	{Key: "x-ms-diagnostics 2000004",
		Meaning: "OAuth: the token is for another tenant.",
		Causes:  []string{"The app signed in to the wrong tenant."},
		Fix:     "Request the token from the mailbox's tenant."},
	{Key: "x-ms-diagnostics 2000005",
		Meaning: "OAuth: the user in the token is invalid.",
		Causes:  []string{"The user has no mailbox or is disabled."},
		Fix:     "Check the user."},
	{Key: "x-ms-diagnostics 2000006",
		Meaning: "OAuth: the client (application) is invalid.",
		Causes:  []string{"The app registration was deleted or is disabled."},
		Fix:     "Check the app registration."},
	{Key: "x-ms-diagnostics 2000007",
		Meaning: "OAuth: an internal error of the authentication service.",
		Causes:  []string{"A service-side problem."},
		Fix:     "Retry later."},
	{Key: "x-ms-diagnostics 2000008",
		Meaning: "OAuth: the token contains no permissions, or permissions the server cannot understand.",
		Causes: []string{
			"The app has no full_access_as_app application permission, or admin consent was not granted.",
			"The token was requested with the wrong scope (use https://outlook.office365.com/.default).",
			"Basic credentials were sent to an OAuth-only endpoint.",
		},
		Fix: "Grant full_access_as_app (Office 365 Exchange Online, application permission) with admin consent and request https://outlook.office365.com/.default."},

	// --- network and TLS (pain-points.md §10, §12) ---
	{Key: "dns-not-found",
		Meaning: "The host name does not exist in DNS.",
		Causes:  []string{"A typo in the URL or domain.", "The DNS record was never created (or is only in internal DNS and this machine uses another resolver)."},
		Fix:     "Check the host name; create the DNS record; or test with --resolve HOST:PORT:ADDRESS."},
	{Key: "dns-failure",
		Meaning: "The DNS lookup failed (not a definite \"no such host\").",
		Causes:  []string{"The resolver is unreachable or timed out."},
		Fix:     "Check this machine's DNS configuration and retry."},
	{Key: "tcp-refused",
		Meaning: "The host refused the TCP connection: nothing listens on that port.",
		Causes:  []string{"The wrong port in the URL.", "The server is not running.", "A firewall actively rejects the connection."},
		Fix:     "Check the port and that the server runs (actas serve prints its URL)."},
	{Key: "tcp-timeout",
		Meaning: "The TCP connection timed out.",
		Causes:  []string{"A firewall silently drops the traffic.", "The host is down or the address is wrong."},
		Fix:     "Check firewalls between this machine and the server."},
	{Key: "tcp-unreachable",
		Meaning: "The network or host is unreachable.",
		Causes:  []string{"No route to the address (VPN down, wrong address)."},
		Fix:     "Check the network path to the server."},
	{Key: "timeout",
		Meaning: "The request timed out before the server answered.",
		Causes:  []string{"The server is overloaded or hangs.", "The --timeout is too short for this server."},
		Fix:     "Retry with a longer --timeout; check the server's load."},
	{Key: "transport",
		Meaning: "The connection failed before an HTTP answer arrived.",
		Causes:  []string{"A proxy or middlebox reset the connection.", "The server closed the connection."},
		Fix:     "Check the server's logs and any proxy in between."},
	{Key: "tls-handshake",
		Meaning: "The TLS handshake failed.",
		Causes:  []string{"The port speaks plain HTTP (use http:// or the HTTPS port).", "No common TLS version or cipher (TLS 1.2 or later is required)."},
		Fix:     "Check the URL's scheme and port, and the server's TLS configuration."},
	{Key: "tls-untrusted",
		Meaning: "The server's certificate does not chain to a trusted root.",
		Causes:  []string{"The certificate is issued by a private CA this machine does not trust.", "The server does not send its intermediate certificates."},
		Fix:     "Install the issuing CA on the clients (or pass it with --ca-file), or use a certificate from a public CA. --insecure ignores this for a test only."},
	{Key: "tls-self-signed",
		Meaning: "The server's certificate is self-signed, so no client trusts it.",
		Causes:  []string{"A default or development certificate (actas serve --tls-self-signed, Exchange's self-signed certificate)."},
		Fix:     "Install a certificate from a trusted CA (actas serve --tls-cert/--tls-key), or trust this one explicitly with --ca-file. --insecure ignores this for a test only."},
	{Key: "tls-name-mismatch",
		Meaning: "The certificate is not valid for the host name in the URL.",
		Causes:  []string{"The URL uses a name (or IP address) the certificate's subject alternative names do not list.", "Autodiscover: https://<domain>/autodiscover answered with the web site's certificate."},
		Fix:     "Use a host name the certificate names, or add the name to the certificate."},
	{Key: "tls-expired",
		Meaning: "The server's certificate has expired.",
		Causes:  []string{"The certificate was not renewed."},
		Fix:     "Renew the certificate."},
	{Key: "tls-not-yet-valid",
		Meaning: "The server's certificate is not valid yet.",
		Causes:  []string{"This machine's clock is wrong, or the certificate was issued with a future start date."},
		Fix:     "Check the clocks."},
	{Key: "tls-expiring",
		Meaning: "The server's certificate expires within 30 days.",
		Causes:  []string{"Renewal is due."},
		Fix:     "Renew the certificate before it expires."},
	{Key: "tls-invalid",
		Meaning: "The server's certificate is invalid.",
		Causes:  []string{"A certificate not meant for TLS servers, or a broken chain."},
		Fix:     "Install a proper TLS server certificate."},
	{Key: "tls-expected",
		Meaning: "The server dropped the connection on a plain HTTP request: the port most likely speaks HTTPS.",
		Causes:  []string{"The URL says http:// for an HTTPS port."},
		Fix:     "Use https:// in the EWS URL."},
	{Key: "plain-http",
		Meaning: "The EWS URL uses plain HTTP: the password crosses the network in clear text.",
		Causes:  []string{"A test setup, or a TLS-offloading proxy addressed from the inside."},
		Fix:     "Use HTTPS outside a loopback test."},

	// --- Autodiscover (ews-protocol.md §4; pain-points.md §2 rows 44–45) ---
	{Key: "autodiscover-failed",
		Meaning: "No Autodiscover candidate gave an EWS URL.",
		Causes: []string{
			"DNS: neither <domain> nor autodiscover.<domain> resolves, and there is no _autodiscover._tcp SRV record.",
			"Certificate mismatch on https://<domain>/autodiscover (the web site's certificate).",
			"The server does not serve Autodiscover, or refuses the credentials there.",
			"The mailbox is not known to the server that answered.",
		},
		Fix:      "Publish autodiscover.<domain> (A/CNAME record and a certificate naming it), or give the EWS URL with --ews-url.",
		Commands: []string{`Get-ClientAccessService | Format-List Name,AutoDiscoverServiceInternalUri`}},
	{Key: "autodiscover-500",
		Meaning: "Autodiscover answered error 500: the email address can't be found.",
		Causes:  []string{"The mailbox does not exist on that server or is in another organization.", "The service account cannot see the mailbox."},
		Fix:     "Check the address; Autodiscover with an account of the same organization."},
	{Key: "autodiscover-600",
		Meaning: "Autodiscover answered error 600: invalid request.",
		Causes:  []string{"The endpoint is not an Outlook POX Autodiscover endpoint (e.g. only JSON or SOAP Autodiscover)."},
		Fix:     "Give the EWS URL with --ews-url."},
	{Key: "autodiscover-601",
		Meaning: "Autodiscover answered error 601: the requested response schema is not available.",
		Causes:  []string{"The server does not provide the Outlook 2006a response schema."},
		Fix:     "Give the EWS URL with --ews-url."},
	{Key: "autodiscover-error",
		Meaning: "Autodiscover answered with an error.",
		Causes:  []string{"See the error code and message the server gave."},
		Fix:     "Give the EWS URL with --ews-url."},
	{Key: "autodiscover-redirect-loop",
		Meaning: "Autodiscover redirected more than 10 times, or back to an address already tried.",
		Causes:  []string{"Redirect loops between on-premises and Exchange Online (hybrid TargetAddress), or a misconfigured redirect."},
		Fix:     "Fix the redirect chain (the attempts below list it), or give the EWS URL with --ews-url."},

	// --- authentication negotiation ---
	{Key: "auth-no-basic",
		Meaning:  "The server does not offer Basic authentication, the only scheme this analyzer sends.",
		Causes:   []string{"Only NTLM/Negotiate (Windows authentication) or OAuth is enabled on the EWS virtual directory."},
		Fix:      "Enable Basic authentication on the EWS virtual directory for the test, or test with a client that speaks the offered scheme.",
		Commands: []string{`Set-WebServicesVirtualDirectory -Identity 'EWS (Default Web Site)' -BasicAuthentication $true`}},
	{Key: "auth-anonymous",
		Meaning: "The endpoint answered an unauthenticated request: it does not require authentication.",
		Causes:  []string{"A proxy authenticates in front of it, or authentication is disabled."},
		Fix:     "Make sure EWS cannot be used anonymously."},

	// --- beyond Microsoft's test ---
	{Key: "anchor-required",
		Meaning: "The request failed without X-AnchorMailbox and succeeded with it: this server routes on the header.",
		Causes:  []string{"A front end that proxies to mailbox servers (Exchange 2013+, Exchange Online)."},
		Fix:     "Send X-AnchorMailbox: <target address> on every impersonated request (EWS Managed API clients must add it themselves)."},
	{Key: "notifications-unsupported",
		Meaning: "The server does not support pull notifications (Subscribe/GetEvents).",
		Causes:  []string{"The server has not implemented them (Actas answers ErrorInvalidOperation until it does)."},
		Fix:     "Poll with SyncFolderItems or FindItem instead of subscribing."},
	{Key: "notifications-failed",
		Meaning: "The Subscribe/GetEvents round trip did not complete.",
		Causes:  []string{"See the response code: affinity, permissions or limits."},
		Fix:     "See the response code's entry."},
	{Key: "throttle-headroom",
		Meaning: "The server reports little throttling budget left for this account.",
		Causes:  []string{"Other processes use the same service account (or, in Exchange Online, the same target mailbox budget)."},
		Fix:     "Lower concurrency, or give the service account its own throttling policy (on-premises)."},
	{Key: "throttled",
		Meaning: "The server asked the analyzer to back off during the test.",
		Causes:  []string{"The service account or mailbox is over its throttling budget right now."},
		Fix:     "Wait for the back-off time; lower the application's concurrency."},
	{Key: "explain-mismatch",
		Meaning: "The RBAC decision (Test-ApplicationImpersonation) and what EWS did disagree.",
		Causes:  []string{"A permission change landed between the two calls.", "A server defect: report it with both answers."},
		Fix:     "Run the test again; if they still disagree, report it."},
	{Key: "sample-unavailable",
		Meaning: "--sample could not list the organization's mailboxes.",
		Causes: []string{
			"The server is not Actas: the sample reads mailboxes and decisions through Actas's admin API.",
			"The account used may not run Get-Mailbox (a service account may only test itself): give --admin-user.",
		},
		Fix: "Give --admin-user and --admin-password-file of an administrator of the organization."},
	{Key: "id-unresolved",
		Meaning:  "The identifier for the chosen --id-type could not be determined.",
		Causes:   []string{"--id-type SID needs the mailbox's SID: pass it with --id, or give --admin-user so it can be looked up with Get-User."},
		Fix:      "Pass --id, or --admin-user/--admin-password-file.",
		Commands: []string{`Get-User -Identity {Mailbox} | Format-List Sid,UserPrincipalName`}},
}

var tableIndex = func() map[string]*Entry {
	m := make(map[string]*Entry, len(Table))
	for i := range Table {
		m[strings.ToLower(Table[i].Key)] = &Table[i]
	}
	return m
}()

// Lookup returns the entry for a key (case-insensitive).
func Lookup(key string) (*Entry, bool) {
	e, ok := tableIndex[strings.ToLower(key)]
	return e, ok
}

// Diagnosis is an entry rendered for one finding.
type Diagnosis struct {
	Key      string   `json:"key"`
	Meaning  string   `json:"meaning"`
	Causes   []string `json:"causes"`
	Fix      string   `json:"fix"`
	Commands []string `json:"commands,omitempty"`
	// Confirmed is what the server (ActasReason, the explain call) has
	// established about the cause, when it said.
	Confirmed string `json:"confirmed,omitempty"`
}

var (
	placeholder = regexp.MustCompile(`\{(=?)([A-Za-z]+)\}`)
	plainWord   = regexp.MustCompile(`^[A-Za-z0-9@._\-]+$`)
)

// psQuote quotes a value for PowerShell unless it is a plain word.
func psQuote(v string) string {
	if plainWord.MatchString(v) {
		return v
	}
	return "'" + strings.ReplaceAll(v, "'", "''") + "'"
}

// renderCommand fills a command template from ctx.
func renderCommand(tmpl string, ctx map[string]string) string {
	return placeholder.ReplaceAllStringFunc(tmpl, func(m string) string {
		sub := placeholder.FindStringSubmatch(m)
		v, ok := ctx[sub[2]]
		if !ok || v == "" {
			return "<" + sub[2] + ">"
		}
		if sub[1] == "=" {
			return strings.ReplaceAll(v, "'", "''")
		}
		return psQuote(v)
	})
}

// diagnose renders the entry for key with a context, falling back to
// fallback (then to "ews-unknown-code") for keys without an entry.
func diagnose(key string, ctx map[string]string, fallback string) *Diagnosis {
	e, ok := Lookup(key)
	if !ok && fallback != "" {
		e, ok = Lookup(fallback)
	}
	if !ok {
		e, _ = Lookup("ews-unknown-code")
	}
	d := &Diagnosis{Key: e.Key, Meaning: e.Meaning, Causes: append([]string(nil), e.Causes...), Fix: e.Fix}
	if !strings.EqualFold(e.Key, key) {
		d.Key = key
	}
	for _, c := range e.Commands {
		d.Commands = append(d.Commands, renderCommand(c, ctx))
	}
	return d
}
