"""Language detection, Telugu-aware tokens and sentence splitting."""

from knowledge.text import detect_lang, split_sentences, word_tokens


def test_telugu_words_keep_their_vowel_signs() -> None:
    assert word_tokens("సూక్ష్మ సంస్థకు టర్నోవర్") == ["సూక్ష్మ", "సంస్థకు", "టర్నోవర్"]


def test_english_words_are_casefolded_and_split_on_punctuation() -> None:
    assert word_tokens("Udyam-Registration, FREE!") == ["udyam", "registration", "free"]


def test_detect_lang_by_script() -> None:
    assert detect_lang("సూక్ష్మ సంస్థ అంటే ఏమిటి?") == "te"
    assert detect_lang("What is a micro enterprise?") == "en"
    assert detect_lang("MSME అంటే ఏమిటి?") == "te"  # a Latin acronym inside a Telugu question
    assert detect_lang("12345", default="te") == "te"


def test_sentences_split_on_punctuation_and_lines_but_not_abbreviations() -> None:
    text = "Loans up to Rs. 50,000 are Shishu. Kishore comes next!\nఇది ఒక వాక్యం. ఇది రెండవది?"
    assert split_sentences(text) == [
        "Loans up to Rs. 50,000 are Shishu.",
        "Kishore comes next!",
        "ఇది ఒక వాక్యం.",
        "ఇది రెండవది?",
    ]
