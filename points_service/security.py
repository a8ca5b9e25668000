"""Security headers on every response: a CSP without inline script, no framing,
no MIME sniffing, a strict referrer policy, HSTS in production."""

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


# Where Stripe.js talks to besides its own origin (Stripe's published CSP directives).
STRIPE_CONNECT = "https://api.stripe.com"
STRIPE_FRAMES = "https://hooks.stripe.com"


def allow_card_form(response, origin):
    """This one response may run Stripe.js from ``origin`` (its card fields are frames from
    there and it calls Stripe's API): the only script the service does not serve itself,
    allowed only on the pages that take a card."""
    policy = CSP.replace("script-src 'self'", f"script-src 'self' {origin}")
    policy = policy.replace("connect-src 'self'", f"connect-src 'self' {origin} {STRIPE_CONNECT}")
    policy = policy.replace("object-src", f"frame-src 'self' {origin} {STRIPE_FRAMES}; object-src")
    response.headers["Content-Security-Policy"] = policy
    return response


def apply_security_headers(response):
    from flask import current_app, request

    headers = response.headers
    if request.path.startswith("/api/v1/docs"):
        # The interactive API docs page runs its own bundled script file.
        headers.setdefault(
            "Content-Security-Policy", CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
        )
    else:
        headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(self), microphone=(), geolocation=()")
    if current_app.config.get("ENV") == "production":
        headers.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
    if request.endpoint and not request.path.startswith("/static/"):
        headers.setdefault("Cache-Control", "no-store")
    return response
