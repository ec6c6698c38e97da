"""Check-in (签到): the endpoint that records who came to a lesson or an activity."""
