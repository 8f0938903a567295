"""What the chat says by itself (greeting, errors) and the chat page's strings, English and Telugu."""

from __future__ import annotations

WELCOME = {
    "en": (
        "Hello! I am your MSME assistant. Ask me about your business documents — loans, "
        "registration, GST, payments — in English or Telugu. You can type or speak."
    ),
    "te": (
        "నమస్కారం! నేను మీ MSME సహాయకుడిని. రుణాలు, నమోదు, జీఎస్టీ, చెల్లింపుల వంటి మీ వ్యాపార "
        "పత్రాల గురించి తెలుగు లేదా ఆంగ్లంలో అడగండి. టైప్ చేయవచ్చు లేదా మాట్లాడవచ్చు."
    ),
}

#: Error messages of /ws/chat that users see; keys are stable codes the page may also use.
ERRORS = {
    "not_json": 'Each message must be a JSON object like {{"event": ..., "data": {{...}}}}.',
    "unknown_event": "Unknown event {event!r}; use chat_message or audio_message.",
    "missing_field": "The field {field!r} is missing or empty.",
    "bad_field": "The field {field!r} is not valid: {reason}.",
    "audio_too_long": "The recording is too long ({seconds:.0f} s); the limit is {limit:.0f} s.",
    "audio_too_large": "The recording is too large; the limit is {limit:.1f} MB.",
    "audio_too_short": "The recording is too short; hold the button and speak your question.",
    "bad_audio_type": "Unsupported audio type {audio_type!r}; send WebM, Ogg, WAV, MP3 or MP4.",
    "bad_data_url": "The audio must be a base64 data URL (data:audio/...;base64,...).",
    "no_speech": "I could not hear any words in the recording. Please try again or type.",
    "internal": "Something went wrong while answering. Please try again.",
}

#: Strings of the chat page (web/chat.js fetches them from /ui/chat/strings.json).
UI_STRINGS = {
    "en": {
        "title": "MSME Assistant",
        "subtitle": "Answers from your documents",
        "placeholder": "Type your question…",
        "send": "Send",
        "sources": "Sources",
        "you": "You",
        "assistant": "Assistant",
        "thinking": "Looking through the documents…",
        "mic": "Speak",
        "mic_stop": "Stop recording",
        "recording": "Recording… tap again to send",
        "mic_unavailable": "The microphone is not available in this browser.",
        "speaker_on": "Spoken answers on",
        "speaker_off": "Spoken answers off",
        "connecting": "Connecting…",
        "connected": "Connected",
        "reconnecting": "Connection lost; reconnecting…",
        "heard": "You said",
        "new_chat": "New chat",
        "language": "Language",
        "page": "page",
        "refused": "Not found in the documents",
        "error": "Error",
    },
    "te": {
        "title": "MSME సహాయకుడు",
        "subtitle": "మీ పత్రాల నుండి సమాధానాలు",
        "placeholder": "మీ ప్రశ్నను ఇక్కడ టైప్ చేయండి…",
        "send": "పంపు",
        "sources": "ఆధారాలు",
        "you": "మీరు",
        "assistant": "సహాయకుడు",
        "thinking": "పత్రాలలో వెతుకుతోంది…",
        "mic": "మాట్లాడండి",
        "mic_stop": "రికార్డింగ్ ఆపు",
        "recording": "రికార్డ్ అవుతోంది… పంపడానికి మళ్ళీ నొక్కండి",
        "mic_unavailable": "ఈ బ్రౌజర్‌లో మైక్రోఫోన్ అందుబాటులో లేదు.",
        "speaker_on": "సమాధానం వినిపిస్తుంది",
        "speaker_off": "సమాధానం వినిపించదు",
        "connecting": "కనెక్ట్ అవుతోంది…",
        "connected": "కనెక్ట్ అయింది",
        "reconnecting": "కనెక్షన్ పోయింది; మళ్ళీ కలుపుతోంది…",
        "heard": "మీరు అన్నది",
        "new_chat": "కొత్త సంభాషణ",
        "language": "భాష",
        "page": "పేజీ",
        "refused": "పత్రాలలో దొరకలేదు",
        "error": "లోపం",
    },
}
