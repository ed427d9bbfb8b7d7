"""The small flow an admin builds from scratch in the journey tests (test client and
browser): two intents, a question, its routes, and 50 test cases (25 per language)."""

from __future__ import annotations

from typing import Any

INTENTS: dict[str, dict[str, Any]] = {
    "orders": {
        "label": {"it": "ordini", "en": "orders"},
        "examples": {
            "it": ["dov'è il mio ordine", "il pacco non è arrivato",
                   "quando arriva la consegna", "vorrei sapere lo stato della spedizione",
                   "ho ordinato una settimana fa e non ho ricevuto niente",
                   "seguire il mio ordine"],
            "en": ["where is my order", "my parcel has not arrived",
                   "when will my delivery come", "I would like the shipping status",
                   "I ordered last week and nothing came", "track my order"]}},
    "returns": {
        "label": {"it": "resi", "en": "returns"},
        "examples": {
            "it": ["vorrei restituire un prodotto", "voglio fare un reso",
                   "come ottengo il rimborso", "il prodotto è difettoso e lo rimando indietro",
                   "rimborso del mio acquisto", "la taglia è sbagliata e devo renderla"],
            "en": ["I want to return an item", "how do I get a refund",
                   "the product is faulty and I want to send it back",
                   "refund for my purchase", "wrong size, I need to return it",
                   "start a return"]}},
}

PROMPTS = {
    "ask_need": {"it": "Mi dica in breve: ordini o resi?",
                 "en": "Tell me briefly: orders or returns?"},
    "ask_need_again": {"it": "Scusi, ordini o resi?", "en": "Sorry, orders or returns?"},
    "orders_info": {"it": "Il suo ordine è in viaggio.", "en": "Your order is on its way."},
    "returns_info": {"it": "Per il reso, usi l'etichetta nel pacco.",
                     "en": "For a return, use the label in the parcel."},
}

CASES: dict[str, list[tuple[str, str]]] = {
    "it": [(text, "orders") for text in (
        "dov'è il mio ordine", "il pacco non è arrivato", "quando arriva la consegna",
        "vorrei sapere lo stato della spedizione", "seguire il mio ordine",
        "ho ordinato una settimana fa e non ho ricevuto niente", "il mio ordine dov'è",
        "non è ancora arrivato il pacco", "quando mi consegnate l'ordine",
        "a che punto è la spedizione")]
    + [(text, "returns") for text in (
        "vorrei restituire un prodotto", "voglio fare un reso", "come ottengo il rimborso",
        "il prodotto è difettoso e lo rimando indietro", "rimborso del mio acquisto",
        "la taglia è sbagliata e devo renderla", "vorrei un rimborso",
        "devo fare un reso", "voglio restituire le scarpe", "rimborso per favore")]
    + [(text, "none") for text in (
        "che tempo fa domani", "buongiorno", "mi piace il calcio", "sì", "boh")],
    "en": [(text, "orders") for text in (
        "where is my order", "my parcel has not arrived", "when will my delivery come",
        "I would like the shipping status", "track my order",
        "I ordered last week and nothing came", "my order is late",
        "the parcel never arrived", "when do you deliver my order",
        "status of my delivery")]
    + [(text, "returns") for text in (
        "I want to return an item", "how do I get a refund",
        "the product is faulty and I want to send it back", "refund for my purchase",
        "wrong size, I need to return it", "start a return", "I want a refund",
        "I need to send this back", "return my shoes", "refund please")]
    + [(text, "none") for text in (
        "what is the weather tomorrow", "hello", "I like football", "yes", "hmm")],
}


def case_rows() -> list[dict[str, str]]:
    """The 50 cases as rows (lang, expected, text)."""
    return [{"lang": lang, "expected": expected, "text": text}
            for lang, rows in CASES.items() for text, expected in rows]
