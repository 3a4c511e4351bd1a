from __future__ import annotations

from django import forms

from spinepath.fhir_api.models import SmartApp

# The parameters of an authorization request the consent page carries to its answer.
AUTHORIZE_PARAMS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "aud",
    "launch",
    "code_challenge",
    "code_challenge_method",
)


class SmartAppForm(forms.Form):
    name = forms.CharField(max_length=100, label="Name", help_text="as staff will see it")
    kind = forms.ChoiceField(choices=SmartApp.KINDS, label="Kind of app")
    redirect_uris = forms.CharField(
        required=False,
        label="Redirect URIs",
        help_text="https addresses the app receives its authorization at, one per line",
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
    )
    launch_url = forms.CharField(
        required=False,
        max_length=500,
        label="Launch URL",
        help_text="where the chart's Open in … button sends staff (EHR launch); "
        "leave empty for an app opened only on its own",
    )
    scopes = forms.CharField(
        required=False,
        max_length=2000,
        label="Scopes it may ask for",
        help_text="e.g. launch launch/patient patient/*.rs offline_access; a backend service: "
        "system/*.rs (empty: the usual ones for its kind)",
    )
    jwks = forms.CharField(
        required=False,
        max_length=20000,
        label="Public keys (backend service; or a confidential app that signs)",
        help_text='its JWK Set, {"keys": [...]}: RSA keys for RS384 or EC P-384 keys for ES384; '
        "a confidential app with keys gets no secret",
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class AuthorizeForm(forms.Form):
    """The consent page's answer (or the patient picker's choice), with the request it
    answers in hidden fields: oauthlib checks those again before anything is granted."""

    response_type = forms.CharField(max_length=20)
    client_id = forms.CharField(max_length=255)
    redirect_uri = forms.CharField(max_length=500)
    scope = forms.CharField(max_length=2000, required=False)
    state = forms.CharField(max_length=500, required=False)
    aud = forms.CharField(max_length=500, required=False)
    launch = forms.CharField(max_length=100, required=False)
    code_challenge = forms.CharField(max_length=128, required=False)
    code_challenge_method = forms.CharField(max_length=10, required=False)
    allow = forms.ChoiceField(choices=[("yes", "Allow"), ("no", "Deny")], required=False)
    pick = forms.IntegerField(min_value=1, required=False)
    # The consent page's digest of what it showed (views.consent_digest).
    shown = forms.CharField(max_length=64, required=False)

    def authorize_query(self) -> dict[str, str]:
        """The authorization request's own parameters, as its address carried them."""
        return {k: self.cleaned_data[k] for k in AUTHORIZE_PARAMS if self.cleaned_data.get(k)}
