"""Article text → the statements leaders made in it (direct quotes and reported speech).

A rule-based extractor that reads an article the way a wire editor would:

1. The text is cut into paragraphs; headlines, captions, sub-headings and page boilerplate are set
   aside (they carry no statements, but a caption's names must not steer pronouns either).
2. Quotations are found in every style the news uses (“…”, "…", «…», „…“), including the wire
   convention of a quote that runs over several paragraphs (each continued paragraph reopens the
   quote, only the last one closes it). An unbalanced quote mark is ignored rather than allowed
   to swallow the rest of the article.
3. Each paragraph is split into sentences, never inside a quotation, and every sentence is read
   with its quotations masked, so that names and verbs inside quotes do not count as attribution.
4. A reporting verb ("said", "told", "is warning", "appeared to suggest", "called X a Y" …) with
   its subject gives the speaker: a leader named in the sentence (with an honorific: "Mr. Obama"),
   a leader's title held on the article's date, or a pronoun. A subject that only mentions a leader
   ("Putin's spokesman", "the Biden administration", "a spokeswoman for Clinton", "Ed Rendell, a
   Clinton supporter,") or shares the name ("Bill Clinton", "Eric Trump", "Mr. Clinton" for a
   leader who is "she") is somebody else. A verb inside a relative clause that lacks its object
   ("everything Trump says is …") says nothing, and a leader's words that another speaker reports
   ("Clinton told police …, the source added") are that speaker's account.
5. What was said: the quotation before or after the attribution, the clause after the verb (up to
   the next attribution: "While Clinton pledged …, Sanders insisted …"), the clause before it
   ("The war will end, Putin said"), around it ("The museum, Mr. Obama said, would …"), or a
   participle after it ("…, adding that …"). "According to …", ", saying …", "Trump's claim that
   …" are read too; what follows a verb must be words, not a deed ("claimed the nomination").
6. A pronoun is resolved the way a reader does: the subject of its own clause if one comes before
   it, else the most recent person of the last four sentences, their subjects first — a leader
   of the right gender, or nobody when a person who is not a leader (or not known to be of the
   other gender) comes first. A quotation standing alone right after a sentence about a leader's
   words belongs to that leader.

The extractor is pure: no I/O, no global state; it is given the registry and the article date.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from digests.leaders import Mention, Registry
from digests.models import Extracted, StatementKind

MASK = "\ue000"
OTHER = "\x00other"  # a speaker who is not a configured leader

OPEN_CLOSE: dict[str, str] = {"“": '”"', "„": "“”", "«": "»", '"': '"”', "‟": "”"}
CLOSERS = set('”»"“')
CURLY_RE = re.compile("[“”«»„]")
SENTENCE_END_RE = re.compile(
    r"[.!?…]+[)\]]*(?=\s+[\"“„«A-Z0-9\u0400-\u04ff\ue000])|" + "\ue000" + r"(?=\s+[A-Z\"“„«])"
)
OPENER_RE = re.compile("[" + re.escape("".join(OPEN_CLOSE)) + "]")
ANY_QUOTE_RE = re.compile("[" + re.escape("".join(OPEN_CLOSE) + "".join(OPEN_CLOSE.values())) + "]")

# Reporting verbs whose object is what was said: "Putin said (that) …".
SAY_VERBS = {
    "said",
    "says",
    "say",
    "told",
    "tells",
    "added",
    "adds",
    "stressed",
    "stresses",
    "noted",
    "notes",
    "warned",
    "warns",
    "claimed",
    "claims",
    "insisted",
    "insists",
    "denied",
    "denies",
    "announced",
    "announces",
    "argued",
    "argues",
    "pledged",
    "pledges",
    "vowed",
    "vows",
    "remarked",
    "remarks",
    "recalled",
    "recalls",
    "explained",
    "explains",
    "declared",
    "declares",
    "stated",
    "states",
    "asserted",
    "asserts",
    "emphasised",
    "emphasized",
    "emphasises",
    "emphasizes",
    "underlined",
    "underlines",
    "underscored",
    "underscores",
    "acknowledged",
    "acknowledges",
    "admitted",
    "admits",
    "conceded",
    "concedes",
    "suggested",
    "suggests",
    "predicted",
    "predicts",
    "promised",
    "promises",
    "assured",
    "assures",
    "reiterated",
    "reiterates",
    "repeated",
    "replied",
    "replies",
    "responded",
    "responds",
    "answered",
    "countered",
    "counters",
    "complained",
    "complains",
    "lamented",
    "laments",
    "wrote",
    "writes",
    "tweeted",
    "posted",
    "maintained",
    "maintains",
    "contended",
    "contends",
    "observed",
    "commented",
    "cautioned",
    "cautions",
    "boasted",
    "boasts",
    "hinted",
    "hints",
    "signalled",
    "signaled",
    "indicated",
    "indicates",
    "confirmed",
    "confirms",
    "revealed",
    "reveals",
    "mentioned",
    "mentions",
    "reckoned",
    "joked",
    "jokes",
    "proclaimed",
    "affirmed",
    "affirms",
    "agreed",
    "put",
    "objected",
    "protested",
    "retorted",
    "quipped",
    "pointed",
    "estimated",
    "forecast",
    "threatened",
    "threatens",
    "alleged",
    "alleges",
    "asked",
    "asks",
    "recounted",
    "disclosed",
    "assessed",
    "reassured",
    "reminded",
    "informed",
    "conveyed",
    "described",
    "expressed",
    "continued",
    "continues",
    "charged",
    "charges",
    "yelled",
    "shouted",
    "bragged",
    "brags",
    "exclaimed",
    "screamed",
}
# Verbs that take a person or a thing first: only a statement when the rest says enough.
OBJECT_VERBS = {
    "urged",
    "urges",
    "accused",
    "accuses",
    "criticised",
    "criticized",
    "criticises",
    "criticizes",
    "condemned",
    "condemns",
    "praised",
    "praises",
    "welcomed",
    "welcomes",
    "rejected",
    "rejects",
    "dismissed",
    "dismisses",
    "blamed",
    "blames",
    "thanked",
    "thanks",
    "hailed",
    "hails",
    "slammed",
    "blasted",
    "appealed",
    "demanded",
    "demands",
    "proposed",
    "proposes",
    "questioned",
    "questions",
    "defended",
    "defends",
    "ruled",
    "called",
    "calls",
}
REPORTING = SAY_VERBS | OBJECT_VERBS


def _one_of(words: Iterable[str]) -> str:
    """A regex matching any of ``words``, as a prefix tree ("sa(?:id|ys?)"): the regex engine then
    tries a letter or two per position instead of every word (the matches are the same)."""
    tree: dict[str, Any] = {}
    for word in words:
        node = tree
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict[str, Any]) -> str:
        branches = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        alternatives = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if "" in node:
            return (alternatives if alternatives.startswith("(?:") else "(?:" + alternatives + ")") + "?"
        return alternatives

    return build(tree)


VERB_RE = re.compile(r"(?<![\w-])(" + _one_of(REPORTING) + r")(?![\w-])")


def _ing(past: str) -> str:
    if past == "said":
        return "saying"
    if past == "told":
        return "telling"
    if past == "wrote":
        return "writing"
    return past[:-3] + "ying" if past.endswith("ied") else past[:-2] + "ing"


# "Trump is telling voters that …", "He’s claiming that …": the progressive of a reporting verb.
PROGRESSIVE: dict[str, str] = {
    _ing(w): w for w in REPORTING if w.endswith("ed") or w in ("said", "told", "wrote")
}
PROGRESSIVE_RE = re.compile(
    r"(?:(?<![\w-])(?:is|are|was|were|been|keeps|kept)|(?<=\w)['’]s)\s+"
    r"(?:(?:also|now|still|again|already|even|repeatedly|increasingly|openly|publicly|privately|"
    r"loudly|clearly|essentially|effectively|basically)\s+)?"
    r"(" + _one_of(PROGRESSIVE) + r")(?![\w-])"
)
# "appeared to suggest that …", "went on to say …": the verb after "to" reports.
TO_VERBS: dict[str, str] = {
    "say": "said",
    "tell": "told",
    "warn": "warned",
    "suggest": "suggested",
    "insist": "insisted",
    "claim": "claimed",
    "argue": "argued",
    "promise": "promised",
    "accuse": "accused",
    "urge": "urged",
    "deny": "denied",
    "predict": "predicted",
    "blame": "blamed",
    "vow": "vowed",
    "pledge": "pledged",
    "declare": "declared",
    "note": "noted",
    "explain": "explained",
    "stress": "stressed",
    "emphasize": "emphasized",
    "emphasise": "emphasised",
    "reiterate": "reiterated",
    "repeat": "repeated",
    "assure": "assured",
    "announce": "announced",
    "demand": "demanded",
    "propose": "proposed",
    "ask": "asked",
    "reassure": "reassured",
    "remind": "reminded",
    "criticize": "criticized",
    "criticise": "criticised",
    "dismiss": "dismissed",
    "defend": "defended",
    "question": "questioned",
}
TO_VERB_RE = re.compile(
    r"(?<![\w-])(?:(?:is|are|was|were|has\s+been|have\s+been)\s+)?"
    r"(?:appeared|appears|seemed|seems|went\s+on|goes\s+on|continued|continues|continuing|"
    r"tried|tries|sought|seeks|began|begins|proceeded|moved|hastened|rushed|took\s+to\s+[\w ]{2,20}?|"
    r"went\s+out\s+of\s+(?:his|her)\s+way|used\s+(?:the|his|her)\s+[\w ]{2,25}?)"
    r"\s+to\s+(" + _one_of(TO_VERBS) + r")(?![\w-])"
)
# "Trump issued a statement, “…”": a statement named by what carried it.
STATEMENT_RE = re.compile(
    r"(?<![\w-])(?:issued|released|put\s+out|posted|sent\s+out|tweeted)\s+(?:a|an)\s+(?:[\w-]+\s+){0,2}?"
    r"(?:statement|tweet|message|post)(?=\s*(?:[\w ]{0,30}?[,:]\s*" + MASK + r"|\s+saying\b))"
)
# A participle right after a name: "footage of Hillary Clinton asking, “…”", "Trump saying that …".
NAME_PARTICIPLE_RE = re.compile(
    r"\b[A-Z][\w’'.-]*\s+(saying|asking|adding|telling|insisting|declaring|arguing|claiming|warning|"
    r"promising|vowing|tweeting|writing|posting|announcing|noting|suggesting|charging|alleging|"
    r"admitting|conceding)(?=\s*(?:[,:]\s*)?(?:that\b|" + MASK + r"))"
)
PARTICIPLE_WORD_RE = re.compile(
    r"\b(?:saying|asking|adding|telling|insisting|declaring|arguing|claiming|warning|promising|vowing|"
    r"tweeting|writing|posting|announcing|noting|suggesting|charging|alleging|admitting|conceding)\b"
)
# Verbs that can follow what was said with their subject after them: "“…,” said Putin".
INVERTIBLE = {
    "said",
    "says",
    "added",
    "adds",
    "asked",
    "asks",
    "wrote",
    "writes",
    "continued",
    "explained",
    "explains",
    "noted",
    "notes",
    "recalled",
    "recalls",
    "replied",
    "replies",
    "responded",
    "responds",
    "insisted",
    "insists",
    "warned",
    "warns",
    "stressed",
    "stresses",
    "declared",
    "declares",
    "argued",
    "argues",
    "countered",
    "counters",
    "concluded",
    "joked",
    "jokes",
    "quipped",
    "tweeted",
    "remarked",
    "observed",
    "conceded",
    "concedes",
    "acknowledged",
    "admitted",
    "complained",
    "recounted",
    "repeated",
    "answered",
    "retorted",
    "cautioned",
    "predicted",
    "promised",
    "vowed",
    "claimed",
    "claims",
    "maintained",
    "contended",
    "emphasised",
    "emphasized",
    "reiterated",
    "stated",
    "posted",
}
# Between a subject and its verb: auxiliaries, adverbs, short time phrases ("Trump has also
# repeatedly said", "Clinton on Monday said", "Trump in a speech on Friday said").
AUX_WORDS = frozenset(
    """has have had was is would will also later then again once repeatedly previously earlier further
    reportedly publicly privately separately recently did does himself herself yesterday today tonight
    bluntly flatly firmly angrily sharply openly clearly subsequently meanwhile however too only even
    never often frequently already just now still long sometimes initially originally immediately
    quickly eventually finally first personally directly explicitly specifically consistently
    continually constantly routinely regularly famously memorably falsely wrongly correctly mistakenly
    emphatically forcefully strongly loudly quietly calmly simply briefly ultimately likewise
    similarly""".split()
)
NOT_ADVERBS = frozenset(
    "family ally rally supply assembly anomaly bully belly reply monopoly daily weekly monthly "
    "quarterly early only italy july".split()
)
AUX_PHRASE_RE = re.compile(
    r"(?:on\s+(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)|"
    r"last\s+(?:week|month|year|night)|this\s+(?:week|month|year)|in\s+turn|for\s+(?:his|her|their)\s+part|"
    r"at\s+the\s+time|at\s+one\s+point|at\s+times|in\s+response|in\s+reply|in\s+return|"
    r"on\s+(?:Twitter|Facebook|Instagram|Truth\s+Social|X|television|TV|air|camera|stage)|"
    r"(?:in|at|during|on)\s+(?:a|an|the|his|her|their|its|[A-Z][\w’'.]*)\s+(?:[\w’'.-]+\s+){0,3}?"
    r"(?:speech|interview|statement|tweet|tweets|remarks|rally|debate|town\s+hall|event|conference|"
    r"address|appearance|post|video|letter|op-ed|memo|message|forum|hearing|briefing|meeting|summit|"
    r"call|email|book|ad|broadcast|show|program|programme|session)s?)\s*,?\s*$",
    re.I,
)
AUX_PHRASE_ENDS = frozenset(
    """monday tuesday wednesday thursday friday saturday sunday week month year night turn part time
    point times response reply return twitter facebook instagram social x television tv air camera
    stage speech interview statement tweet remarks rally debate hall event conference address
    appearance post video letter op-ed memo message forum hearing briefing meeting summit call email
    book ad broadcast show program programme session""".split()
)


def _strip_aux(head: str) -> str:
    """``head`` without the auxiliaries, adverbs and short time phrases at its end."""
    end = len(head)
    while end:
        tail = head[:end].rstrip(" \t\n\r\f\v,")
        start = len(tail)
        while start and (tail[start - 1].isalnum() or tail[start - 1] in "_’'-"):
            start -= 1
        if start == len(tail):
            break
        word = tail[start:]
        lower = word.lower()
        if lower in AUX_WORDS or (
            word.islower() and len(word) > 4 and word.endswith("ly") and lower not in NOT_ADVERBS
        ):
            end = start
            continue
        if lower.rstrip("s") not in AUX_PHRASE_ENDS and lower not in AUX_PHRASE_ENDS:
            break
        window = max(0, end - 90)
        phrase = AUX_PHRASE_RE.search(head, window, end)
        if phrase is None:
            break
        end = phrase.start()
    return head[:end]


PASSIVE_RE = re.compile(r"\b(?:is|are|was|were|been|being|be|get|got|gets)\s+(?:\w+ly\s+)?$", re.I)
PRONOUN_RE = re.compile(r"(?<![\w])(he|she|He|She)(?![\w])")
PREPOSITIONS = {
    "with",
    "to",
    "of",
    "by",
    "for",
    "against",
    "from",
    "on",
    "about",
    "at",
    "in",
    "into",
    "between",
    "than",
    "and",
    "or",
    "nor",
    "like",
    "as",
    "over",
    "under",
    "toward",
    "towards",
    "after",
    "before",
    "met",
    "meet",
    "meeting",
    "called",
    "calling",
    "phoned",
    "unlike",
    "without",
    "via",
    "told",
}
ABBREVIATIONS = {
    "mr",
    "mrs",
    "ms",
    "dr",
    "st",
    "gen",
    "lt",
    "col",
    "sgt",
    "capt",
    "gov",
    "sen",
    "rep",
    "rev",
    "prof",
    "jr",
    "sr",
    "inc",
    "ltd",
    "co",
    "corp",
    "no",
    "vs",
    "etc",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "u.s",
    "u.k",
    "u.n",
    "e.u",
    "a.m",
    "p.m",
    "approx",
    "fig",
    "mt",
    "ft",
    "adm",
    "maj",
    "cmdr",
    "messrs",
    "pres",
    "sec",
    "dept",
    "est",
    "op",
    "vol",
}
BOILERPLATE_RE = re.compile(
    r"(content is protected|all rights reserved|©|copyright|read more|read also|see also|subscribe|"
    r"sign up|newsletter|share this|share on|follow us|click here|cookie|advertisement|"
    r"related articles?|recommended|most read|watch:|listen:|photo:|image:|getty images|reuters/|"
    r"afp via|ap photo|file photo|\(photo|\bcredit:|editing by|reporting by|writing by|"
    r"additional reporting|contributed reporting|this story has been|this article was)"
)  # matched against lower-cased text
TELL_OBJECT_RE = re.compile(
    r"^\s*(?:(?:the|a|an|his|her|their|our|its|state|local|foreign|russian|american|german|french|"
    r"british|ukrainian|chinese|israeli|turkish|indian|reporters?|journalists?|lawmakers?|"
    r"parliament|supporters?|troops|soldiers|students|delegates|crowds?|audience|officials?|leaders?|"
    r"members?|voters|people|nation|country|press|media|television|tv|broadcaster|newspaper|"
    r"agency|interviewer|citizens|workers|business|executives|diplomats|allies|partners|counterpart|"
    r"[A-Z][\w.'’-]*|[\w-]+'s|[\w-]+’s|and|of|at|in|on)\s*)+",
)
LEADING_THAT_RE = re.compile(
    r"^\s*(?:(?:on|in|at|during|after|before|late|early|last|this|earlier|later|while|when|"
    r"to|via|through|over|without)\b\s+(?:[^,;:\s]+\s+){0,5}?|,?\s*(?:\w+ly|twice|again|once|too|also|then|"
    r"now|today|yesterday|(?:on\s+)?(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday))\s*,?\s+)?"
    r"that\b\s*",
    re.I,
)
SAYING_RE = re.compile(
    r"(?:,|\b[Aa]nd)\s*(?:(?:while|also|then|even)\s+)?(saying|remarking|threatening|adding|warning|arguing|insisting|stressing|noting|claiming|declaring|"
    r"explaining|vowing|pledging|calling|urging|telling|asserting|suggesting|"
    r"complaining|promising|accusing|alleging|predicting|acknowledging|conceding|admitting|"
    r"repeating|reiterating|recalling|boasting|joking|countering|responding|replying|answering|"
    r"writing|tweeting|announcing|proclaiming|demanding|stating|asking|charging)\b"
)
ADVERBIAL_START_RE = re.compile(
    r"^\s*(?:on|in|at|during|when|while|after|before|as|late|early|last|"
    r"this\s+(?:week|month|year|morning|afternoon|evening|weekend|time)|earlier|later|via|by|"
    r"from|through|to|ahead|speaking|meanwhile|however|separately|also|then|yesterday|today|tonight|"
    r"monday|tuesday|wednesday|thursday|friday|saturday|sunday|about|with|for|[,.;]|$)\b",
    re.I,
)
DATELINE_RE = re.compile(
    r"^\s*[A-Z][A-Z .'-]{2,}(?:,\s*[A-Z][\w .]*?){0,2}\s*(?:,\s*\w+\.?\s+\d{1,2})?\s*(?:\([\w .]+\))?\s*[-–—]+\s*"
)
PARTICIPLE_START_RE = re.compile(
    r"^\s*(?:when|while|after|before|if|asked|pressed|speaking|responding|"
    r"addressing|writing|answering|[A-Z][a-z]+(?:ed|ing))\b",
    re.I,
)
PARTY_TAG_RE = re.compile(r"\s*\([A-Z][\w.,\s-]{0,24}\)\s*,?\s*$")
NOMINAL_RE = re.compile(
    r"(?:(?<=\w)(['’]s)|\b([Hh]is|[Hh]er))\s+(?:[a-z-]+\s+){0,2}?(?:claim|assertion|statement|insistence|"
    r"argument|suggestion|promise|pledge|vow|warning|accusation|charge|contention|remark|comment|"
    r"declaration|prediction|boast|admission|denial|assurance|allegation)s?\s+that\s+"
)
# After a leader's name: a noun that the name only modifies.
MODIFIER_NOUN_RE = re.compile(
    r"\s+(?:campaign|camp|officials?|aides?|advis[eo]rs?|spokes\w*|administration|allies|ally|supporters?|"
    r"team|government|foundation|family|son|daughter|wife|husband|staff\w*|surrogates?|backers?|"
    r"loyalists?|voters?|delegates?|fans|critics?|people|organi[sz]ation|transition|camp|tower|"
    r"presidency|rally|rallies|speech|plan|policy|policies|voters|(?-i:[A-Z][a-z]+))\b",
    re.I,
)
# People and things: who a later "he"/"she" can be.
PERSON_WORD_RE = re.compile(
    r"\b(?:spokes(?:man|woman|person)|minister|ambassador|advis[eo]r|aide|official|envoy|secretary|"
    r"general|commander|senator|governor|mayor|lawmaker|negotiator|diplomat|analyst|expert|lawyer|"
    r"attorney|prosecutor|judge|chair(?:man|woman)?|director|professor|chief|head|leader|deputy|"
    r"representative|officer|source|member|critic|opponent|man|woman|voter|supporter|manager|"
    r"strategist|pollster|candidate|nominee|president|congress(?:man|woman)|speaker|host|anchor|"
    r"moderator|reporter|journalist|columnist|author|executive|businessman|businesswoman|founder|"
    r"owner|son|daughter|father|mother|wife|husband|brother|sister|friend|resident|worker|student|"
    r"activist|protester|delegate|donor|veteran|pastor|bishop|rabbi|imam|doctor|economist|"
    r"historian|scientist|researcher|commentator|comedian|actor|actress|singer|star|player|coach)s?\b",
    re.I,
)
NON_PERSON_WORDS = frozenset(
    "it they we i you statement report poll survey ad video campaign committee party administration "
    "government ministry office agency department newspaper site website study data document letter "
    "email memo book article story release post tweet group organization organisation kremlin "
    "house council commission court board company firm network channel station paper magazine "
    "times post journal news media press foundation team camp union alliance bloc coalition "
    "country nation state city economy market figures numbers results".split()
)
NON_PERSON_RE = re.compile(
    r"\b(?:White\s+House|Kremlin|Pentagon|State\s+Department|Elysee|Downing\s+Street|the\s+campaign)\b"
)
SUBORDINATE_START_RE = re.compile(
    r"^\s*(?:(?:shortly|soon|just|even|long|right|only)\s+)?(?:after|before|when|whenever|while|as|since|"
    r"because|although|though|if|unless|until|once|whether|despite|in\s+spite|given)\b",
    re.I,
)
QUOTE_THEN_RE = re.compile(MASK + r"[\s,]*((?:[\w.’'-]+\s+){0,6})$")
NOT_DESCRIPTORS = frozenset(
    "that as when while after before because and but if so then also who which where said says told".split()
)
TIME_ADVERB_RE = re.compile(
    r"\s+(?:(?:last|this|next)\s+(?:week|month|year|night|weekend)|(?:on\s+)?(?:Monday|Tuesday|Wednesday|"
    r"Thursday|Friday|Saturday|Sunday)(?:\s+(?:morning|afternoon|evening|night))?|yesterday|today|tonight|"
    r"again|repeatedly|publicly|earlier|later|recently|once\s+more)"
    r"(?=\s+(?:that\b|to\s|he\b|she\b|they\b|it\b|we\b|I\b|the\b|his\b|her\b|(?-i:[A-Z])))"
)
# Words that may describe a leader before the name: "Democratic presidential front-runner Hillary Clinton".
DESCRIPTOR_WORDS = frozenset(
    """the former then presidential front-runner frontrunner candidate nominee hopeful rival senator
    secretary of state vice president prime minister chancellor leader democratic republican gop
    independent presumptive businessman billionaire mogul real estate embattled outgoing incoming
    likely populist socialist conservative liberal veteran longtime""".split()
)
PRONOUN_WINDOW = 4  # sentences back that "he"/"she" may reach
MENTION_WINDOW = 1  # … for a leader who was mentioned but not the subject
# Somebody named with a title or a role ("Mr. Stevens", "adviser David Axelrod"), or named and then
# described ("McCain, who chairs …").
TITLED_NAME_RE = re.compile(
    r"\b(?:(Mr|Mrs|Ms|Dr|Sen|Rep|Gov|Gen)\.?|adviser|advisor|aide|spokesman|spokeswoman|strategist|"
    r"chairman|senator|governor|congressman|congresswoman|lawyer|attorney|manager|director|pollster|"
    r"host|anchor|secretary|minister)\s+((?:[A-Z][\w’'.-]+\s+){0,2}[A-Z][\w’'-]+)"
)
DESCRIBED_RE = re.compile(r",\s+(?:who|a|an|the|his|her)\s")
NAME_BEFORE_RE = re.compile(r"((?:[A-Z][\w’'.-]+\s+){0,2}[A-Z][\w’'-]+)$")
# After a name: the possessive ("Trump's", "Sanders’").
POSSESSIVE_RE = re.compile(r"[’'](?:s\b|(?=\s))")
# After a name and a comma: circumstances, not an appositive about somebody else.
CIRCUMSTANCE_AFTER_RE = re.compile(
    r",\s*(?:(?:speaking|writing|appearing|campaigning|addressing|during|at|in|on|after|before|while|"
    r"when|asked|pressed|responding|answering|meanwhile|however|though|too|also|for\s+(?:his|her)\s+part)\b)",
    re.I,
)
SUBORDINATOR_RE = re.compile(
    r"\b(?:as|when|while|after|before|because|since|if|though|although|until|whether)\b"
)
APPOSITIVE_RE = re.compile(r",\s*[^,\ue000]{1,160},\s*$")
BLANK_LINE_RE = re.compile(r"\n[ \t]*\n")
NON_SPACE_RE = re.compile(r"\S")
LINE_RE = re.compile(r"[^\n]+")
TRAILING_SAID_RE = re.compile(
    r",\s*(?:he|she|they|[A-Z][\w’'-]+(?:\s+[A-Z][\w’'-]+)*)\s+(?:said|added|told|says)\b[^\ue000]*$"
)
TRAILING_ACCORDING_RE = re.compile(r",?\s*according\s+to\b[^\ue000]*$", re.I)
PERSON_SUBJECT_RE = re.compile(
    r"\b(?:spokes(?:man|woman|person)|minister|ambassador|adviser|advisor|aide|official|envoy|"
    r"secretary|general|commander|senator|governor|mayor|lawmaker|negotiator|diplomat|analyst|"
    r"expert|lawyer|attorney|prosecutor|judge|chairman|chairwoman|director|professor|mr|mrs|ms|"
    r"dr|chief|head|leader|deputy|representative|officer|source|member|critic|opponent)s?\b"
)  # matched against lower-cased text
# Patterns used inline below, compiled once.
ENDS_SENTENCE_RE = re.compile(r"[.!?…]\s*$")
ENDS_QUESTION_RE = re.compile(r"[!?…]\s*$")
WORD_BEFORE_DOT_RE = re.compile(r"([\w.]+)\.?$")
CALLED_FOR_RE = re.compile(r"\s+(?:for|on|upon)\b")
OUT_RE = re.compile(r"\s+out\b")
IT_RE = re.compile(r"\s+it\b")
AS_BEFORE_RE = re.compile(r"\bas\s+(?:[\w’'.-]+\s+){1,6}$")
WHEN_IF_BEFORE_RE = re.compile(r"\bwhen\s+$|\bif\s+$", re.I)
CAPITAL_NEXT_RE = re.compile(r"\s+[A-Z]")
POSSESSIVE_NOUN_RE = re.compile(r"[’']s\s+(?-i:[a-z][\w-]*)(?:\s+(?-i:[a-z][\w-]*))?\b")
POSSESSED_WORDS_RE = re.compile(r"[’']s\s+([\w-]+)(?:\s+([\w-]+))?")
PRONOUN_SUBJECT_RE = re.compile(r"\s*(?:[A-Z][a-z]+,?\s+)?([Hh]e|[Ss]he)\s+(?-i:[a-z])")
TRAILING_PARENTHESIS_RE = re.compile(r"\s*\([^()]{1,40}\)$")
ENDS_WORD_RE = re.compile(r"[\w)]$")
COMMA_WHO_RE = re.compile(r",\s*who\s*$")
NAME_NEXT_RE = re.compile(r"\s+(?:the\s+|a\s+|an\s+)?[A-Z]")
LAST_APPOSITIVE_RE = re.compile(r",\s*([^,]*?),\s*$")
PRONOUN_NEXT_RE = re.compile(r"\s+(he|she)\b")
PHRASE_NEXT_RE = re.compile(r"\s+(?:the\s+|a\s+|an\s+)?([A-Za-z][\w’'-]*(?:\s+[A-Z][\w’'-]*)*)")
PRONOUN_END_RE = re.compile(r"(?<![\w])(he|she|He|She)$")
LAST_TOKEN_RE = re.compile(r"([\w’'.-]+)$")
TO_NEXT_RE = re.compile(r"\s*to\s")
FOR_ON_START_RE = re.compile(r"^\s*(?:for|on|upon)\s+")
DETERMINER_NEXT_RE = re.compile(r"\s*(?:a|an|the|his|her|their|its|our)\b")
TO_DETERMINER_NEXT_RE = re.compile(r"\s*to\s+(?:a|an|the|his|her|their|its)\b")
COMMA_BEFORE_SUBJECT_RE = re.compile(r",\s*(?:as\s+)?(?:the\s+)?$")
CLAUSE_SPLIT_RE = re.compile(
    r"(?:,\s+(?:but|and|while|whereas|yet)\s+|;\s*|\b(?:when|as|after|before|because)\s+)"
)
FRONTED_PHRASE_RE = re.compile(r"^\s*(?:[^,]{0,60}),\s+")
AND_NEXT_RE = re.compile(r"\s+(?:and|&)\s")
MALE_TITLE_RE = re.compile(r"\b(?:Mr|Sir|King|Prince)\b\.?")
FEMALE_TITLE_RE = re.compile(r"\b(?:Mrs|Ms|Miss|Queen|Princess)\b\.?")
SEGMENT_SPLIT_RE = re.compile(r"[,;:—–]\s*")
HONORIFIC_START_RE = re.compile(r"(?:Mr|Mrs|Ms|Dr|Sen|Rep|Gov)\b")
ED_NEXT_RE = re.compile(r"\s+\w+ed\b")
PREV_WORD_RE = re.compile(r"([\w&]+)\W*$")
SENTENCE_STOP_RE = re.compile(r"[.!?](?:\s|$)")
# A finite verb or auxiliary: a clause, not just circumstances ("in his interview").
FINITE_RE = re.compile(
    r"\b(?:(?:he|she|it|they|we|I|there)\s+(?!(?:and|or|of|to|in|on|at|a|an|the|his|her|their|its)\b)[a-z]+|is|are|was|were|be|been|will|would|can|could|should|shall|must|may|might|has|have|had|did|"
    r"does|do|won[’']t|isn[’']t|wasn[’']t|don[’']t|doesn[’']t|didn[’']t|can[’']t|[a-z]{2,}ed)\b"
)
# A participle with a preposition or question after it: "Pressed by …", "Asked whether …".
CIRCUMSTANCE_RE = re.compile(
    r"^\s*(?:\w+ly\s+)?[A-Za-z]+(?:ed|ing)\s+(?:by|about|on|to|at|in|whether|if|how|what|why|when|after|"
    r"before|for|with|during|from|into|over|under|through|his|her|their|the\s+\w+\s+(?:of|on|about))\b",
    re.I,
)
# "called climate change a hoax", "called her vote a mistake", "called the senator a “nasty guy”".
CALLED_X_Y_RE = re.compile(
    r"\s+(?!(?:a|an|the\s+(?:meeting|election|vote|press|news|police|strike))\b)"
    r"(?:[\w’'.-]+\s+){1,8}?(?:(?:a|an)\s+\S|" + MASK + r")"
)
# Right after a quotation: its attribution ("“Why not?” Mr. Trump asked"), so no new sentence.
ATTRIBUTION_NEXT_RE = re.compile(
    r"\s+(?!(?:He|She|It|They|We|I)\s)(?:[A-Z][\w.’'-]*\s+){1,4}(?:" + _one_of(SAY_VERBS) + r")(?![\w-])"
)
# Between an inverted verb and its subject: "said former secretary of state Hillary Clinton".
INVERTED_PREFIX_RE = re.compile(
    r"\s+(?:(?:the|former|then|ex|democratic|republican|presidential|vice-presidential|candidate|"
    r"nominee|presumptive|rival|secretary|of|state|senator|sen\.|gov\.|governor|president|vice|gop|"
    r"u\.s\.|us|democrat|independent|incumbent|front-?runner|party|chancellor|prime|minister|premier|"
    r"hopeful|mr\.|mrs\.|ms\.|dr\.)\s+){0,6}",
    re.I,
)
# A reported clause ends where another attribution starts: ", Clinton said", ", the source added".
CLAUSE_BREAK_RE = re.compile(
    r",\s+(?:(?:and|but|while|whereas)\s+)?(?:(?:the|a|an|his|her|their|its|one|another|several|some|many|"
    r"two|three)\s+(?:[\w’'.-]+\s+){0,3}?|(?:[A-Z][\w’'.-]*\s+){1,4}|(?:he|she|they)\s+)(?:"
    + _one_of(SAY_VERBS)
    + r")(?![\w-])"
    r"|,\s+(?:but|and)\s+(?:also\s+|then\s+|later\s+)?(?-i:[a-z]+ed)\b"
    r"|,\s*(?:while\s+(?:also\s+)?)?(?:adding|saying|noting|insisting|arguing|warning|urging|stressing)\s+that\b"
)
# The object of a verb that takes a person or thing first must say something: "accused X of …".
OBJECT_MARKERS: dict[str, str] = {
    **dict.fromkeys(("urged", "urges", "appealed"), r"to|that|for"),
    **dict.fromkeys(("accused", "accuses"), r"of|that"),
    **dict.fromkeys(
        (
            "criticised",
            "criticized",
            "criticises",
            "criticizes",
            "condemned",
            "condemns",
            "slammed",
            "blasted",
        ),
        r"for|as|over|that",
    ),
    **dict.fromkeys(("praised", "praises", "hailed", "hails", "welcomed", "welcomes"), r"for|as|that"),
    **dict.fromkeys(
        ("rejected", "rejects", "dismissed", "dismisses"),
        r"as|that|claims?|calls?|suggestions?|accusations?|allegations?|reports?|the\s+idea",
    ),
    **dict.fromkeys(("blamed", "blames"), r"for|that|on"),
    **dict.fromkeys(("thanked", "thanks"), r"for"),
    **dict.fromkeys(("demanded", "demands", "proposed", "proposes"), r"that|to|an?|the"),
    **dict.fromkeys(("questioned", "questions"), r"whether|why|how|if|that|what|who"),
    **dict.fromkeys(("defended", "defends"), r"as|against|that"),
    **dict.fromkeys(("described",), r"as|how|what|that"),
}
# After a reporting verb, a verb: the "says" was inside a relative clause ("what Trump says is …").
GAP_AFTER_RE = re.compile(
    r"\s+(?:(?:in|on|at|last|this|earlier)\s+[\w’']+\s+|and\s+[a-z]+\s+)?(?:is|are|was|were|has|have|had|will|would|can|could|should|may|might|must|did|does|do|"
    r"isn[’']t|wasn[’']t|aren[’']t|weren[’']t)\b"
)
WHAT_BEFORE_RE = re.compile(r"\bwhat\s+(?:[\w’'.-]+\s+){1,3}?(?:has\s+|had\s+)?$", re.I)
# Before a quotation: a preposition or "called" makes it a title or a name, not words said
# ("on “This Week”", "a book titled “…”").
TITLE_BEFORE_RE = re.compile(
    r"\b(?:on|in|at|to|of|from|called|titled|entitled|named|dubbed|headlined|about)\s*$", re.I
)
INFINITIVE_RE = re.compile(r"\s*to\s+(?!(?:the|a|an|his|her|their|its|this|that|[A-Z]\w*)\b)[a-z]+\b")
THAT_SOON_RE = re.compile(r"\s*[\w’'.-]+(?:\s+[\w’'.-]+){0,7}?\s+that\b")
# Verbs that with a thing as object are deeds, not words: "claimed a victory", "added to her lead".
THING_OBJECT_VERBS = frozenset(
    """claimed claims added adds boasted boasts conceded concedes answered answers acknowledged
    acknowledges described describes maintained maintains reported reports""".split()
)
TELL_VERBS = frozenset(("told", "tells", "informed", "reminded", "assured", "reassured"))
AND_BEFORE_RE = re.compile(
    r"\b(?:and|but)\s+(?:(?:also|later|then|again|has|have|had|would|will|repeatedly|previously)\s+)*$"
)
RELATIVE_BEFORE_RE = re.compile(r"\b(?:that|which|who|whom)\s+(?:[\w’'.-]+\s+){1,3}$")
# After "said <leader>": a word that makes the leader a modifier of somebody else.
MODIFIES_NEXT_RE = re.compile(
    r"\s+(?!(?:on|in|at|during|after|before|of|to|when|while|as|last|this|earlier|later|yesterday|today|"
    r"tonight|who|via|through|from|with|and|himself|herself|also|too|again|recently|previously|then|"
    r"afterwards|told|adding|according|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b)"
    r"[A-Za-z]"
)
# A leader right after these is not the subject: "a spokeswoman for Clinton said".
NOT_SUBJECT_BEFORE = {
    "for",
    "to",
    "of",
    "by",
    "from",
    "about",
    "against",
    "than",
    "like",
    "behind",
    "near",
    "under",
    "toward",
    "towards",
    "around",
    "without",
    "unlike",
    "versus",
    "vs",
    "on",
    "at",
    "into",
    "upon",
    "over",
    "through",
    "during",
}
PERSON_NOUN_RE = re.compile(
    r"(?:president|minister|chancellor|premier|leader|counterpart|secretary|senator|governor|candidate|"
    r"nominee|officials?|spokes(?:man|woman|person)|aides?|advisers?|allies|ally|rivals?|wife|husband)"
)
ACCORDING_RE = re.compile(r"(?<![\w])according\s+to\s+", re.I)
TERMINAL_RE = re.compile(r"[.!?…][\"”»’)\]]*\s*$|:\s*$")
WORD_RE = re.compile(r"[\w’'-]+")


@dataclass
class Quote:
    start: int  # offset of the opening mark in the article
    end: int  # offset just after the closing mark
    text: str  # the words inside, continuation marks removed


@dataclass
class Sentence:
    start: int
    end: int
    text: str
    masked: str
    quotes: list[Quote]
    paragraph: int


@dataclass
class Verb:
    """A reporting verb in a sentence: ``start`` is where its subject ends (the auxiliary of
    "is telling"), ``end`` where its object begins, ``word`` the verb as listed ("telling" → "told")."""

    start: int
    end: int
    word: str
    participle: bool = False  # "footage of Clinton asking, “…”": the name before it is the subject


@dataclass
class Said:
    """What a reporting verb introduces: the kind, the words, and where they end in the sentence
    (another attribution may follow: "While Clinton pledged …, Sanders insisted that …")."""

    kind: StatementKind
    text: str
    stop: int


@dataclass
class Speaker:
    leader: str  # leader key, or OTHER
    explicit: bool  # named or titled (not a pronoun)
    gender: str | None = None  # for somebody else: "he"/"she" when known
    person: bool = True  # for somebody else: a person ("the spokesman"), not "the statement", "it"


@dataclass
@dataclass
class Referent:
    """Somebody a later "he" or "she" may mean: a leader (key) or somebody else (OTHER)."""

    sentence: int
    leader: str
    gender: str | None  # "he", "she", or None when not known (a name, "the official")
    subject: bool  # the sentence's subject (or speaker), preferred over other mentions


@dataclass
class Context:
    """What a reader remembers while reading on: who spoke last, who the recent sentences were
    about (their subjects first, then the leaders they mention)."""

    last_speaker: str | None = None
    last_speaker_sentence: int = -10
    last_explicit: bool = False  # the previous sentence attributed words to a named/titled speaker
    sentence_index: int = 0
    referents: list[Referent] = field(default_factory=list)


# ------------------------------------------------------------------------------------------------
# Paragraphs and quotations


def _paragraphs(text: str) -> list[tuple[int, int]]:
    """(start, end) of each paragraph: blank-line separated blocks, split further at line breaks
    where a line is complete on its own (ends a sentence, or is a short heading)."""
    spans: list[tuple[int, int]] = []
    for start, block in _blocks(text):
        lines = list(LINE_RE.finditer(block))
        cur_start: int | None = None
        for i, line in enumerate(lines):
            s, e = start + line.start(), start + line.end()
            if cur_start is None:
                cur_start = s
            content = line.group(0).strip()
            last = i == len(lines) - 1
            if last or TERMINAL_RE.search(content[-16:]) or len(content) < 60:
                spans.append((cur_start, e))
                cur_start = None
    return [(s, e) for s, e in spans if text[s:e].strip()]


def _blocks(text: str) -> list[tuple[int, str]]:
    """Blank-line separated blocks: (offset, text from its first non-space character)."""
    out: list[tuple[int, str]] = []
    at = 0
    for sep in [*BLANK_LINE_RE.finditer(text), None]:
        end = sep.start() if sep is not None else len(text)
        first = NON_SPACE_RE.search(text, at, end)
        if first is not None:
            out.append((first.start(), text[first.start() : end]))
        if sep is None:
            break
        at = sep.end() - 1  # the separator's last newline may start the next block's search
    return out


def _words(text: str) -> int:
    return len(WORD_RE.findall(text))


def _is_body(text: str) -> bool:
    stripped = text.strip()
    if _words(stripped) < 4:
        return False
    if _words(stripped) < 25 and BOILERPLATE_RE.search(stripped.lower()):
        return False
    if stripped[0] in OPEN_CLOSE:
        return True  # a quotation paragraph, perhaps continued on the next one
    return bool(TERMINAL_RE.search(stripped[-16:]))


def _find_quotes(text: str, paras: list[tuple[int, int]]) -> tuple[list[Quote], list[list[int]]]:
    """Quotations in the body paragraphs, and the paragraphs grouped into logical units
    (a quotation over several paragraphs makes them one unit)."""
    quotes: list[Quote] = []
    units: list[list[int]] = []
    i = 0
    while i < len(paras):
        unit = [i]
        start, end = paras[i]
        pos = start
        continuation_skip: set[int] = set()
        while True:
            opened = _scan(text, pos, end, continuation_skip)
            quotes.extend(opened.closed)
            if opened.open_at is None:
                break
            # An unclosed quotation: the wire convention continues it when the next paragraph
            # reopens it and it began as a full sentence; otherwise the mark is a stray.
            nxt = i + len(unit)
            o = opened.open_at
            inner = text[o + 1 : end].lstrip()
            if (
                nxt < len(paras)
                and text[paras[nxt][0]] in OPEN_CLOSE
                and inner[:1].isupper()
                and _words(inner) >= 4
            ):
                continuation_skip.add(paras[nxt][0])
                unit.append(nxt)
                end = paras[nxt][1]
                pos = o
                continue
            # Stray mark: rescan after it as ordinary text.
            continuation_skip.add(o)
            pos = start
            quotes = [q for q in quotes if q.start < start]
        units.append(unit)
        i += len(unit)
    return quotes, units


@dataclass
class _Scan:
    closed: list[Quote]
    open_at: int | None


def _scan(text: str, pos: int, end: int, skip: set[int]) -> _Scan:
    closed: list[Quote] = []
    i = pos
    while True:
        m = OPENER_RE.search(text, i, end)
        if m is None:
            break
        i = m.start()
        if i in skip or not _opens(text, i):
            i += 1
            continue
        closers = OPEN_CLOSE[text[i]]
        parts: list[str] = []
        seg_start = i + 1
        found = None
        for q in ANY_QUOTE_RE.finditer(text, i + 1, end):
            j = q.start()
            if j in skip:
                parts.append(text[seg_start:j])
                seg_start = j + 1
            elif text[j] in closers and _closes(text, j):
                found = j
                break
        if found is None:
            return _Scan(closed, i)
        parts.append(text[seg_start:found])
        inner = " ".join(" ".join(parts).split())
        closed.append(Quote(i, found + 1, inner))
        i = found + 1
    return _Scan(closed, None)


def _opens(text: str, i: int) -> bool:
    if text[i] == '"':
        before = text[i - 1] if i else " "
        after = text[i + 1] if i + 1 < len(text) else " "
        return (before.isspace() or before in "([{—–-:,") and not after.isspace()
    return True


def _closes(text: str, j: int) -> bool:
    if text[j] == '"':
        before = text[j - 1]
        # A space before it is allowed after a nested quotation's end: "… 'vote for her,' ".
        return not before.isspace() or text[max(0, j - 3) : j].rstrip()[-1:] in ("'", "’")
    return True


# ------------------------------------------------------------------------------------------------
# Sentences


def _sentences(
    text: str, start: int, end: int, quotes: list[Quote], paragraph: int
) -> tuple[str, list[Sentence]]:
    """The sentences of the unit ``text[start:end]``, and the unit with its quotations masked."""
    inside = [q for q in quotes if start <= q.start < end]
    pieces: list[str] = []
    at = start
    for q in inside:
        q_start, q_end = max(q.start, at), min(q.end, end)
        if q_end <= q_start:
            continue
        pieces.append(text[at:q_start])
        pieces.append(MASK * (q_end - q_start))
        at = q_end
    pieces.append(text[at:end])
    masked = "".join(pieces)
    cuts = [0]
    for m in SENTENCE_END_RE.finditer(masked):
        k = m.end()
        if masked[m.start()] == MASK:
            # A quotation ends the sentence only if its own words end one, and not when its
            # attribution follows: "“Why not?” Trump asked."
            ending = next((q for q in inside if q.end - start == k), None)
            if ending is None or not ENDS_SENTENCE_RE.search(ending.text):
                continue
            if ENDS_QUESTION_RE.search(ending.text) and ATTRIBUTION_NEXT_RE.match(masked, k):
                continue
        else:
            word = WORD_BEFORE_DOT_RE.search(masked[max(0, m.start() - 12) : m.start() + 1])
            if word:
                w = word.group(1).rstrip(".").lower()
                if w in ABBREVIATIONS or (len(w) == 1 and w.isalpha()):
                    continue
        cuts.append(k)
    cuts.append(len(masked))
    result: list[Sentence] = []
    for a, b in zip(cuts, cuts[1:], strict=False):
        while a < b and masked[a].isspace():
            a += 1
        if a >= b:
            continue
        s, e = start + a, start + b
        result.append(
            Sentence(s, e, text[s:e], masked[a:b], [q for q in inside if s <= q.start < e], paragraph)
        )
    return masked, result


# ------------------------------------------------------------------------------------------------
# Attribution


def _verbs(masked: str) -> list[Verb]:
    """The reporting verbs of a sentence in reading order, progressive forms included."""
    found = [Verb(m.start(), m.end(), m.group(1).lower()) for m in VERB_RE.finditer(masked)]
    if "ing" in masked:
        for m in PROGRESSIVE_RE.finditer(masked):
            found.append(Verb(m.start(), m.end(), PROGRESSIVE[m.group(1).lower()]))
        if PARTICIPLE_WORD_RE.search(masked):
            for m in NAME_PARTICIPLE_RE.finditer(masked):
                found.append(Verb(m.start(1), m.end(1), PROGRESSIVE[m.group(1)], participle=True))
    if "statement" in masked or "tweet" in masked or "message" in masked:
        for m in STATEMENT_RE.finditer(masked):
            found.append(Verb(m.start(), m.end(), "said"))
    if " to " in masked:
        for m in TO_VERB_RE.finditer(masked):
            found.append(Verb(m.start(), m.end(), TO_VERBS[m.group(1).lower()]))
    if len(found) > 1:
        found.sort(key=lambda v: v.start)
    return found


class Extractor:
    """Finds statements; build once per registry, call ``extract`` per article."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def extract(self, text: str, published: date | None = None, title: str | None = None) -> list[Extracted]:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        paras = _paragraphs(text)
        body = [p for p in paras if _is_body(text[p[0] : p[1]])]
        if len(body) > 3 and body == paras[: len(body)] or (body and paras and body[0] == paras[0]):
            first = text[body[0][0] : body[0][1]].strip()
            if _is_headline(first, title, more=len(paras) > 2):
                body = body[1:]
        quotes, units = _find_quotes(text, body)
        results: list[Extracted] = []
        ctx = Context()
        for p_index, unit in enumerate(units):
            start, end = body[unit[0]][0], body[unit[-1]][1]
            masked, sentences = _sentences(text, start, end, quotes, p_index)
            # Names and titles are found once per paragraph (faster than per sentence), then
            # handed to each sentence with offsets of its own.
            unit_mentions = self.registry.mentions(masked, published)
            for sentence in sentences:
                a, b = sentence.start - start, sentence.end - start
                mentions = [
                    Mention(m.start - a, m.end - a, m.leader, m.by)
                    for m in unit_mentions
                    if a <= m.start and m.end <= b
                ]
                results.extend(self._read(sentence, ctx, published, mentions))
                ctx.sentence_index += 1
        return _unique(results)

    # -- one sentence --------------------------------------------------------------------------

    def _read(self, s: Sentence, ctx: Context, day: date | None, mentions: list[Mention]) -> list[Extracted]:
        masked = s.masked
        out: list[Extracted] = []
        speaker_found: Speaker | None = None

        m_acc = ACCORDING_RE.search(masked) if "ccording" in masked else None
        if m_acc:
            after = next((x for x in mentions if 0 <= x.start - m_acc.end() <= 4), None)
            if (
                after is not None
                and after.leader
                and not POSSESSIVE_RE.match(masked[after.end :])
                and not MODIFIER_NOUN_RE.match(masked, after.end)
            ):
                # "The war, according to Putin, will end": the words around, without the commas.
                before_acc = s.text[: m_acc.start()].rstrip(" ,")
                after_acc = s.text[after.end :].lstrip(" ,")
                text = (before_acc + " " + after_acc if before_acc else after_acc).strip(" ,.")
                text = _clean(text)
                if _words(text) >= 3:
                    speaker_found = Speaker(after.leader, True)
                    out.append(Extracted(after.leader, _kind(text, s), text, s.text.strip(), s.start))
            elif m_acc.start() < 3:
                speaker_found = Speaker(OTHER, True)  # "According to diplomats, …"

        resume_at = 0  # verbs before this are inside what was already attributed
        cut_at = -1000  # where the last statement was cut by another attribution
        mine = 0  # statements of this sentence that a trailing attribution may take back
        verb_speaker: Speaker | None = None  # the subject of the sentence's last reporting verb
        participle = SAYING_RE.search(masked) if "ing" in masked else None
        for verb in _verbs(masked) if speaker_found is None else []:
            word = verb.word
            if (
                participle is not None
                and verb.start >= participle.end()
                and not out
                and speaker_found is None
            ):
                break  # "Clinton reprimanded Trump, saying Trump had answered …": inside what she said
            after_verb = masked[verb.end :]
            if word in ("called", "calls") and not (
                CALLED_FOR_RE.match(after_verb) or CALLED_X_Y_RE.match(after_verb)
            ):
                continue
            if word in ("ruled",) and not OUT_RE.match(after_verb):
                continue
            if word == "pointed" and not OUT_RE.match(after_verb):
                continue
            if word == "put" and not IT_RE.match(after_verb):
                continue
            if word == "put" and AS_BEFORE_RE.search(masked[: verb.start]):
                continue  # "…, as Mrs. Clinton put it": her phrase for what somebody else said
            if word in ("charged", "charges", "maintained", "maintains", "agreed") and not re.match(
                r"\s+that\b|\s*[,:]?\s*" + MASK, after_verb
            ):
                continue
            if word in ("continued", "continues") and not (
                re.match(r"\s*[,:]?\s*" + MASK, after_verb)
                or re.search(MASK + r"[\s,]*[\w’'. ]{0,40}$", masked[: verb.start])
            ):
                continue
            if word in ("asked", "asks") and WHEN_IF_BEFORE_RE.search(masked[: verb.start]):
                continue
            if verb.start < resume_at:
                continue
            if (
                GAP_AFTER_RE.match(after_verb)
                or (word in ("called", "calls", "described") and WHAT_BEFORE_RE.search(masked, 0, verb.start))
                or _object_relative(masked, verb, after_verb)
            ):
                continue  # "Everything Trump says is a lie", "policies that Trump argues allowed …"
            speaker, subj_start, inverted_end = self._subject(masked, verb, mentions)
            if speaker is None and verb_speaker is not None and AND_BEFORE_RE.search(masked, 0, verb.start):
                speaker, subj_start, inverted_end = verb_speaker, -1, -1  # "Guterres condemned … but said …"
            if speaker is None:
                continue
            if speaker.leader == "pronoun":
                pron = _pronoun_at(masked, subj_start)
                leader = self._resolve_pronoun(pron, ctx, masked[:subj_start], mentions)
                speaker = Speaker(leader or OTHER, False, gender=pron.lower())
            verb_speaker = speaker
            said = self._content(s, verb, subj_start, inverted_end, word)
            if said is None:
                if speaker_found is None:
                    speaker_found = speaker
                if (
                    mine
                    and speaker.leader == OTHER
                    and speaker.explicit
                    and word in SAY_VERBS
                    and 0 <= verb.start - cut_at < 80
                    and not after_verb.strip(" .,;:!?" + MASK)
                ):
                    # "Clinton had told police …, the source added": somebody else's account.
                    del out[len(out) - mine :]
                    mine = 0
                    speaker_found = speaker
                continue
            speaker_found = speaker
            resume_at = said.stop
            cut_at = said.stop if said.stop < len(masked) else -1000
            if speaker.leader != OTHER and not said.text.isupper():
                out.append(Extracted(speaker.leader, said.kind, said.text, s.text.strip(), s.start))
                mine += 1
            else:
                mine = 0

        m = (
            SAYING_RE.search(masked, resume_at)
            if participle is not None and resume_at < len(masked)
            else None
        )
        if m is not None and (
            speaker_found is None or (speaker_found.leader != OTHER and (not out or m.start() >= resume_at))
        ):
            # ", saying …" after a clause whose subject is a leader (or after what the leader said:
            # "“…,” Trump said, adding that …").
            if m:
                subj = (
                    speaker_found.leader
                    if speaker_found is not None
                    else self._participle_subject(masked[: m.start()], mentions, ctx)
                )
                if subj is not None:
                    speaker_found = Speaker(subj, True)
                    content = _clean(s.text[m.end() :])
                    content = LEADING_THAT_RE.sub("", content)
                    if subj != OTHER and _words(content) >= 3 and _says_something(masked[m.end() :]):
                        out.append(Extracted(subj, _kind(content, s), content, s.text.strip(), s.start))

        if not out:
            # "Trump's claim that …", "his promise that …": a statement named by a noun.
            for m_noun in NOMINAL_RE.finditer(masked):
                owner = m_noun.group(2)
                if owner is not None:
                    pron = "he" if owner.lower() == "his" else "she"
                    leader = self._resolve_pronoun(pron, ctx, masked[: m_noun.start()], mentions)
                else:
                    named = next((x for x in mentions if x.end == m_noun.start(1)), None)
                    leader = named.leader if named is not None else None
                if not leader or leader == OTHER:
                    continue
                tail_masked = masked[m_noun.end() :]
                tail = s.text[m_noun.end() :]
                cut = CLAUSE_BREAK_RE.search(tail_masked)
                if cut:
                    tail, tail_masked = tail[: cut.start()], tail_masked[: cut.start()]
                content = _clean(_strip_trailing_attribution(tail, tail_masked))
                if _words(content) >= 3 and FINITE_RE.search(tail_masked):
                    out.append(Extracted(leader, _kind(content, s), content, s.text.strip(), s.start))
                    break

        if speaker_found is None and s.quotes and _standalone(s):
            if ctx.last_explicit and ctx.last_speaker and ctx.last_speaker != OTHER:
                if ctx.sentence_index - ctx.last_speaker_sentence == 1:
                    text = " ".join(q.text for q in s.quotes)
                    if _words(text) >= 3:
                        out.append(
                            Extracted(ctx.last_speaker, "direct", _clean(text), s.text.strip(), s.start)
                        )
            ctx.last_explicit = False
            return out

        # Remember who spoke and who the sentence is about.
        if speaker_found is not None:
            ctx.last_speaker = speaker_found.leader
            ctx.last_speaker_sentence = ctx.sentence_index
            ctx.last_explicit = speaker_found.leader != OTHER
        else:
            ctx.last_explicit = False
        self._remember(ctx, masked, mentions, speaker_found)
        return out

    def _remember(
        self, ctx: Context, masked: str, mentions: Sequence[Mention], speaker: Speaker | None
    ) -> None:
        """Note the sentence's subject (its speaker, or the person its main clause is about) and
        the leaders it mentions, for the pronouns of the sentences that follow."""
        i = ctx.sentence_index
        subject: Referent | None = None
        if speaker is not None:
            if speaker.leader != OTHER:
                subject = Referent(i, speaker.leader, self.registry.pronoun(speaker.leader), True)
            elif speaker.person:
                subject = Referent(i, OTHER, speaker.gender, True)
        else:
            subject = self._subject_referent(masked, mentions, ctx, i)
        if subject is not None:
            ctx.referents.append(subject)
        for m in mentions:
            if subject is not None and m.leader == subject.leader:
                continue
            if MODIFIER_NOUN_RE.match(masked, m.end) and not CAPITAL_NEXT_RE.match(masked[m.end :]):
                continue  # "the Obama administration", "a Trump supporter": not a person mentioned
            if m.leader:
                ctx.referents.append(Referent(i, m.leader, self.registry.pronoun(m.leader), False))
            elif m.by == "name":
                ctx.referents.append(Referent(i, OTHER, None, False))  # "Bill Clinton"
        for at, gender in _other_people(masked):
            # "McCain, who chairs …", "adviser David Axelrod": somebody else a "he" may mean.
            if not any(m.start <= at < m.end for m in mentions):
                ctx.referents.append(Referent(i, OTHER, gender, False))
        if len(ctx.referents) > 40:
            del ctx.referents[:-20]

    def _subject_referent(
        self, masked: str, mentions: Sequence[Mention], ctx: Context, i: int
    ) -> Referent | None:
        """Who a sentence without an attribution is about: a leader as its subject, the leader
        whose thing is the subject ("Trump's inexperience has shown"), or a person who is not a
        leader ("Gorka", "the senator"); None for "it", "the poll", or when unclear."""
        subj = self._clause_subject(masked, mentions, ctx)
        if subj is not None and subj != OTHER:
            return Referent(i, subj, self.registry.pronoun(subj), True)
        body = DATELINE_RE.sub("", masked, count=1)
        first = next((m for m in mentions if m.leader), None)
        if first is not None and POSSESSIVE_NOUN_RE.match(masked[first.end :]):
            noun = POSSESSED_WORDS_RE.match(masked[first.end :])
            words = {w for w in (noun.groups() if noun else ()) if w}
            lead = masked[: first.start]
            if not PERSON_WORD_RE.search(" ".join(words)) and _words(lead) <= 3:
                # "Trump's inexperience has shown …": the possessor is who the sentence is about.
                return Referent(i, first.leader, self.registry.pronoun(first.leader), True)
        if subj == OTHER or (subj is None and _looks_like_person_subject(body[:60])):
            person, gender = _person_of(body[:80])
            return Referent(i, OTHER, gender, True) if person else None
        pron = PRONOUN_SUBJECT_RE.match(body)
        if pron:
            return Referent(i, OTHER, pron.group(1).lower(), True)  # "He married …": somebody else
        if _named_subject(body):
            return Referent(i, OTHER, None, True)  # "Axelrod emailed her condolences"
        return None

    def _subject(
        self, masked: str, verb: Verb, mentions: Sequence[Mention]
    ) -> tuple[Speaker | None, int, int]:
        """The subject of ``verb``: (speaker, subject start, end of an inverted subject or -1).
        A speaker whose leader is "pronoun" still needs resolving."""
        vstart, vend = verb.start, verb.end
        before = masked[:vstart]
        if PASSIVE_RE.search(before[-48:]):
            return None, -1, -1
        head = before
        appositive_of: str | None = None  # the noun phrase before "…, a Clinton supporter, said"
        for _ in range(2):
            # Appositive: "Putin, speaking in Astana, said" / "Putin, 70, said".
            app = APPOSITIVE_RE.search(head) if head.rstrip().endswith(",") else None
            if app and not head.rstrip().endswith(MASK):
                candidate = head[: app.start()].rstrip()
                bare = TRAILING_PARENTHESIS_RE.sub("", candidate)  # "Bernie Sanders (I-Vt.)"
                if any(m.end in (len(candidate), len(bare)) for m in mentions):
                    head = bare
                    continue
                # "Clinton, during a town hall meeting in Columbus, Ohio, said": a leader opening
                # the clause, then circumstances with commas in them.
                opening = next(
                    (
                        m
                        for m in mentions
                        if m.leader
                        and head.startswith(",", m.end)
                        and not VERB_RE.search(head, m.end)
                        and (m.start == 0 or re.search(r"(?:^|[,;:" + MASK + r"])\s*$", head[: m.start]))
                        and CIRCUMSTANCE_AFTER_RE.match(head, m.end)
                    ),
                    None,
                )
                if opening is not None:
                    head = head[: opening.end]
                elif ENDS_WORD_RE.search(candidate) and not ADVERBIAL_START_RE.match(candidate):
                    appositive_of = candidate
            head = _strip_aux(head)
        # Relative clause: "Biden, who has said …" speaks through "who".
        rel = COMMA_WHO_RE.search(head)
        if rel:
            candidate = head[: rel.start()].rstrip()
            m_rel = next((m for m in mentions if m.end == len(candidate)), None)
            if m_rel is not None and verb.word not in ("threatened", "threatens"):
                return Speaker(m_rel.leader or OTHER, True), m_rel.start, -1
        if ")" in head[-8:] or head.rstrip().rstrip(",").rstrip().endswith(")"):
            head = PARTY_TAG_RE.sub("", head)  # "Mike Pence (R-Ind.) said"
        stripped = head.rstrip()
        end = len(stripped.rstrip(", "))
        m_before = next((m for m in mentions if m.end == end), None) if stripped else None
        if (
            m_before is not None
            and stripped.endswith(",")
            and verb.word in INVERTIBLE
            and NAME_NEXT_RE.match(masked[vend:])
        ):
            m_before = None  # "… that Sanders can catch Clinton, said Steve Elmendorf"
        if appositive_of is not None:
            # "Ed Rendell, a Clinton supporter, praised …", "Several candidates, including Trump,
            # said …": the phrase before the appositive speaks, unless the appositive is a leader's
            # name and nothing else ("His rival, Donald Trump, said").
            inner = LAST_APPOSITIVE_RE.search(stripped + ("," if not stripped.endswith(",") else ""))
            named = (
                m_before is not None
                and inner is not None
                and not re.sub(
                    r"(?i)\b(?:the|former|then|\w+ly)\b",
                    "",
                    inner.group(1)[: m_before.start - inner.start(1)],
                ).strip()
            )
            if not named:
                return _somebody(appositive_of), -1, -1
        # Inverted: "…,” said Putin / said the Russian leader / “…,” said he.
        if (
            m_before is None
            and verb.word in INVERTIBLE
            and (re.search(r"(?:" + MASK + r"|,)\s*$", stripped) or not stripped)
        ):
            after = masked[vend:]
            inv = INVERTED_PREFIX_RE.match(after)
            inv_off = vend + (inv.end() if inv else 0)
            m_after = next((m for m in mentions if m.start in (inv_off, vend + 1)), None)
            if m_after is not None:
                if POSSESSIVE_RE.match(masked[m_after.end :]) or MODIFIES_NEXT_RE.match(masked, m_after.end):
                    return _somebody(after[:60]), -1, -1  # "said Clinton ally James Carville"
                if not m_after.leader:
                    return _somebody(masked[m_after.start : m_after.end]), -1, -1
                return Speaker(m_after.leader, True), m_after.start, m_after.end
            p = PRONOUN_NEXT_RE.match(after)
            if p and stripped.endswith(MASK):
                return Speaker("pronoun", False), vend + p.start(1), vend + p.end(1)
            o = PHRASE_NEXT_RE.match(after)
            if o and stripped.endswith(MASK):
                return _somebody(re.split(r"[,.;:" + MASK + "]", after, maxsplit=1)[0]), -1, -1
            if not stripped:
                return None, -1, -1
            if stripped.endswith(","):
                # "…, said David Autor, a professor": the subject follows; "Lavrov, who took part
                # in the talks, told …": it comes first. Either way not a leader.
                if o and verb.word in INVERTIBLE:
                    return _somebody(re.split(r"[,.;:" + MASK + "]", after, maxsplit=1)[0]), -1, -1
                return _somebody(stripped), -1, -1
        # Subject before the verb.
        if m_before is not None:
            prev = _prev_word(masked, m_before.start).lower()
            if (prev in ("nor", "or", "&") or (prev == "with" and not verb.participle)) or (
                prev == "and" and _coordinated(masked, m_before.start)
            ):
                return None, -1, -1  # "Macron and Meloni said": no single speaker
            if prev in NOT_SUBJECT_BEFORE and not verb.participle:
                return _somebody(stripped), -1, -1  # "a spokeswoman for Hillary Clinton says"
            if not m_before.leader:
                return _somebody(masked[m_before.start : m_before.end]), m_before.start, -1
            return Speaker(m_before.leader, True), m_before.start, -1
        p = PRONOUN_END_RE.search(stripped)
        if p:
            return Speaker("pronoun", False), p.start(1), -1
        last = LAST_TOKEN_RE.search(stripped)
        if last:
            word = last.group(1)
            lower = word.lower()
            if lower in ("they", "we", "i", "you", "it", "who", "which", "that"):
                return (
                    (Speaker(OTHER, True, None, False), -1, -1)
                    if lower in ("they", "we", "i", "you")
                    else (None, -1, -1)
                )
            if lower in PREPOSITIONS or lower in ("the", "a", "an", "not", "to", "but", "yet"):
                if lower in ("and", "but"):
                    # "Putin met Xi and said …": the clause's subject speaks.
                    subj = self._clause_subject(stripped[: last.start()], mentions, None)
                    if subj is not None:
                        first = next((m for m in mentions if m.leader == subj), None)
                        return Speaker(subj, True), first.start if first is not None else -1, -1
                return None, -1, -1
            return _somebody(stripped), -1, -1
        return None, -1, -1

    def _content(self, s: Sentence, verb: Verb, subj_start: int, inverted_end: int, word: str) -> Said | None:
        masked, text = s.masked, s.text
        base = s.start
        # Quotations before the attribution: "“…,” Putin said" (and any that follow: “A,” he said, “B.”).
        lead = masked[: subj_start if subj_start >= 0 else verb.start]
        if _quote_then_subject(lead) or (
            inverted_end >= 0 and re.search(MASK + r"[\s,]*$", masked[: verb.start])
        ):
            quotes = [
                q
                for q in s.quotes
                if (q.end - base <= len(lead.rstrip(" ,")) + 1 or q.start - base > verb.end)
                and not TITLE_BEFORE_RE.search(masked, 0, q.start - base)
            ]
            words = " ".join(q.text for q in quotes)
            if _words(words) >= 2:
                return Said("direct", _clean(words), max(q.end - base for q in quotes))
        # What follows the verb.
        pos = max(verb.end, inverted_end)
        rest_masked = masked[pos:]
        rest = text[pos:]
        if word in (
            "told",
            "tells",
            "informed",
            "reminded",
            "assured",
            "reassured",
            "urged",
            "urges",
            "thanked",
            "warned",
            "warns",
            "accused",
            "accuses",
            "asked",
            "asks",
            "invited",
        ):
            obj = TELL_OBJECT_RE.match(rest_masked)
            if obj and word in (
                "told",
                "tells",
                "informed",
                "reminded",
                "assured",
                "reassured",
                "asked",
                "asks",
            ):
                cut = obj.end()
                # Keep a leading "that"/clause: give back the last word if it is a pronoun subject.
                rest_masked, rest = rest_masked[cut:], rest[cut:]
        # "vowed last month to take …", "said again that …": a time phrase before what was said.
        time_adv = TIME_ADVERB_RE.match(rest_masked)
        if time_adv:
            rest_masked, rest = rest_masked[time_adv.end() :], rest[time_adv.end() :]
            pos += time_adv.end()
        # An attribution inside the sentence: "The museum, Mr. Obama said, would make visitors …".
        if subj_start > 0 and inverted_end < 0:
            lead_m = re.search(r"(?<=[\w" + MASK + r"”\"])\s*,\s*$", masked[:subj_start])
            rest_m = re.match(r"\s*,\s*(?=[a-z" + MASK + r"])", rest_masked)
            if (
                lead_m
                and rest_m
                and not ADVERBIAL_START_RE.match(masked)
                and not PARTICIPLE_START_RE.match(masked)
            ):
                head_words = masked[: lead_m.start()]
                if _words(head_words) >= 2 and not VERB_RE.search(head_words):
                    tail_m = rest_masked[rest_m.end() :]
                    tail = _strip_trailing_attribution(rest[rest_m.end() :], tail_m)
                    joined = _clean(text[: lead_m.start()] + " " + tail)
                    if _words(joined) >= 4 and FINITE_RE.search(tail_m):
                        return Said(_kind(joined, s), joined, len(masked))
        # Colon or direct quotation right after the verb.
        colon = re.match(r"[^" + MASK + r".;]{0,80}?[:,]\s*(?=" + MASK + ")", rest_masked) or re.match(
            r"\s*,?\s*(?=" + MASK + ")", rest_masked
        )
        if colon:
            after_quotes = [
                q
                for q in s.quotes
                if q.start - base >= pos and not TITLE_BEFORE_RE.search(masked, 0, q.start - base)
            ]
            qtext = " ".join(q.text for q in after_quotes)
            tail = re.sub(MASK + r"+", "", rest_masked[colon.end() :]).strip(" .,;")
            if _words(qtext) >= 2 and (_words(tail) <= 3 or VERB_RE.search(tail)):
                return Said("direct", _clean(qtext), max(q.end - base for q in after_quotes))
        m_that = LEADING_THAT_RE.match(rest)
        if m_that is None and re.match(
            r"\s*,?\s*(?:as|while|because|since|although|though)\b|\s*,\s*(?:and|but)\b", rest_masked
        ):
            return self._fronted(s, subj_start, verb, inverted_end)  # "he demanded, as Bush continued …"
        if m_that is None and rest_masked.rstrip().endswith(":") and MASK not in rest_masked:
            return None  # "He told his audience, to rowdy applause:": the words come next
        if word in ("posted", "wrote", "writes", "tweeted") and m_that is None:
            return None  # "posted a message of thanks": what was written is not given
        if m_that is None and (verb.end - verb.start > len(word) + 2 or verb.participle):
            if not _says_something(rest_masked):
                return None  # "is conceding the race": an act, not words
        if m_that is None and word in TELL_VERBS and subj_start > 0 and not THAT_SOON_RE.match(rest_masked):
            front = self._fronted(s, subj_start, verb, inverted_end)
            if front is not None:
                return front  # "This is not about me, Obama told his advisers as he …"
        if (
            m_that is None
            and ADVERBIAL_START_RE.match(rest_masked)
            and not INFINITIVE_RE.match(rest_masked)
            and word not in ("called", "calls")
        ):
            front = (
                self._fronted(s, subj_start, verb, inverted_end)
                if subj_start > 0 or inverted_end > 0
                else None
            )
            if front is not None:
                return front
            finite = FINITE_RE.search(rest_masked)
            if (not finite and not TO_NEXT_RE.match(rest_masked)) or (
                finite and SUBORDINATOR_RE.search(rest_masked, 0, finite.start())
            ):
                return None  # "Mr. Obama said in his interview", "responded from the heart as he …"
        content = rest[m_that.end() :] if m_that else rest
        content_masked = rest_masked[m_that.end() :] if m_that else rest_masked
        stop = len(masked)
        # Another attribution after a comma ends this one: "…, Clinton said …", "…, the source added."
        brk = CLAUSE_BREAK_RE.search(content_masked)
        if brk:
            content, content_masked = content[: brk.start()], content_masked[: brk.start()]
            stop = len(masked) - len(rest_masked) + (m_that.end() if m_that else 0) + brk.start()
        content = _strip_trailing_attribution(content, content_masked)
        content = raw_content = _clean(content)
        if word in ("called", "calls"):
            content = FOR_ON_START_RE.sub("", content)
        min_words = 5 if word in OBJECT_VERBS and word not in ("called", "calls") else 3
        marker = OBJECT_MARKERS.get(word)
        if (
            marker is not None
            and not m_that
            and not re.match(r"(?:\S+\s+){0,12}?(?:" + marker + r")\b", content)
        ):
            min_words = 10_000  # "thanked the EU leaders", "defended people accused of …": an act
        if word in ("denied", "denies", "confirmed", "confirms", "announced", "announces", "rejected"):
            min_words = 2 if m_that else 4
        if (
            not m_that
            and word in THING_OBJECT_VERBS
            and DETERMINER_NEXT_RE.match(content_masked)
            and not _says_something(content_masked)
        ):
            return None  # "claimed the nomination", "claimed a victory": deeds, not words
        if not m_that and word in ("added", "adds") and TO_DETERMINER_NEXT_RE.match(content_masked):
            return None  # "added to her delegate lead"
        if _words(content) >= min_words:
            if word in OBJECT_VERBS and not m_that and pos == verb.end:
                # "accused the West of …", "urged allies to …": the verb is part of what was said.
                content = f"{text[verb.start : verb.end]} {raw_content}"
            return Said(_kind(content, s), content, stop)
        return self._fronted(s, subj_start, verb, inverted_end)

    def _fronted(self, s: Sentence, subj_start: int, verb: Verb, inverted_end: int) -> Said | None:
        """Content before the attribution: "Ukraine refuses to talk, Putin told journalists." """
        masked, text = s.masked, s.text
        lead_masked = masked[: subj_start if subj_start >= 0 and inverted_end < 0 else verb.start]
        m_lead = COMMA_BEFORE_SUBJECT_RE.search(lead_masked)
        if not m_lead:
            return None
        front_masked = masked[: m_lead.start()]
        if front_masked.count("(") > front_masked.count(")"):
            return None  # "… (in fact, Obama has proposed …)": the subject is inside a parenthesis
        if ADVERBIAL_START_RE.match(front_masked) and "," not in front_masked:
            return None  # "Earlier this month, Putin said …": a time phrase, not content.
        if SUBORDINATE_START_RE.match(front_masked) or re.match(
            r"\s*(?:with|amid|despite|after|before|during|following|since|until)\b", front_masked, re.I
        ):
            return (
                None  # "Shortly after Clinton won, Sanders told …", "Though he has not …, Sanders promised"
            )
        if PARTICIPLE_START_RE.match(front_masked) and (
            not FINITE_RE.search(front_masked) or CIRCUMSTANCE_RE.match(front_masked)
        ):
            return None  # "Pressed by a reporter on …, Trump answered": circumstances, not content.
        front = _clean(text[: m_lead.start()])
        if _words(front) >= 4 and (
            FINITE_RE.search(front_masked)
            or MASK in front_masked
            or not ADVERBIAL_START_RE.match(front_masked)
        ):
            return Said(_kind(front, s), front, max(verb.end, inverted_end))
        return None

    def _participle_subject(self, masked: str, mentions: Sequence[Mention], ctx: Context) -> str | None:
        """Who does ", saying …": the subject of the clause right before it ("Trump pivoted, but
        Wallace brought him back, asking Trump …" is Wallace's question)."""
        parts = list(CLAUSE_SPLIT_RE.finditer(masked))
        if parts:
            cut = parts[-1].end()
            last = masked[cut:]
            here = [Mention(m.start - cut, m.end - cut, m.leader, m.by) for m in mentions if m.start >= cut]
            subj = self._clause_subject(last, here, ctx)
            if subj is not None:
                return subj
            if _named_subject(last):
                return OTHER
        return self._clause_subject(masked, mentions, ctx)

    def _clause_subject(self, masked: str, mentions: Sequence[Mention], ctx: Context | None) -> str | None:
        """The leader a clause is about when a leader is its grammatical subject: the first
        mention, at the clause start (after a fronted phrase), not possessive, not an object."""
        clause_start = 0
        dateline = DATELINE_RE.match(masked)
        if dateline:
            masked = " " * dateline.end() + masked[dateline.end() :]
        m = FRONTED_PHRASE_RE.match(masked)
        if m and not any(x.start < m.end() for x in mentions):
            clause_start = m.end()
        first = next((x for x in mentions if x.start >= clause_start), None)
        lead = masked[clause_start : first.start if first else len(masked)]
        lead_words = WORD_RE.findall(lead)
        if first is not None and all(w[:1].isupper() or w.lower() in DESCRIPTOR_WORDS for w in lead_words):
            if (
                POSSESSIVE_RE.match(masked[first.end :])
                or not first.leader
                or MODIFIER_NOUN_RE.match(masked, first.end)
            ):
                return OTHER  # "Clinton's aide", "a Clinton campaign official", "the Sanders campaign"
            # "Macron and Meloni said": no single subject.
            if AND_NEXT_RE.match(masked[first.end :]):
                return None
            return first.leader
        p = re.match(
            r"\s*(?:(?:Earlier|Later|Then|Meanwhile|But|And|Yet|Still|Now|Separately|Previously|"
            r"Also|So|Instead|However|Afterwards|Today|Yesterday)\s*,?\s+)?([Hh]e|[Ss]he)\b",
            masked[clause_start:],
        )
        if p and ctx is not None:
            return self._resolve_pronoun(p.group(1), ctx, masked[: clause_start + p.start(1)], mentions)
        if lead_words and _looks_like_person_subject(lead):
            return OTHER
        return None

    def _resolve_pronoun(
        self, pronoun: str, ctx: Context, before: str = "", mentions: Sequence[Mention] = ()
    ) -> str | None:
        """The leader "he"/"she" means: the subject of its own clause when one comes before it
        ("Trump was asked … when he told"), else the most recent compatible person of the last
        four sentences, subjects before other mentions. A person who is not a leader, or a leader
        of the other gender, in between means it is not a leader (None)."""
        pron = pronoun.lower()
        if before.strip(" ,;:" + MASK):
            here = [m for m in mentions if m.end <= len(before)]
            cur = self._clause_subject(before, here, None)
            if cur == OTHER:
                # "While Trump's statements have caused concern, he …": the possessor.
                first = next((m for m in here if m.leader), None)
                if first is not None and POSSESSIVE_RE.match(before[first.end :]):
                    cur = first.leader
            if cur is not None and cur != OTHER and self.registry.pronoun(cur) == pron:
                return cur
            if cur is None and _named_subject(before):
                return None  # "Moderator Bret Baier asked Rubio why he …": somebody named in between
            if cur == OTHER:
                person, gender = _person_of(before)
                if person and gender in (None, pron):
                    return None
        i = ctx.sentence_index
        by_sentence: dict[int, list[Referent]] = {}
        for ref in ctx.referents:
            if i - PRONOUN_WINDOW <= ref.sentence < i:
                by_sentence.setdefault(ref.sentence, []).append(ref)
        for j in sorted(by_sentence, reverse=True):
            refs = sorted(by_sentence[j], key=lambda r: not r.subject)
            for ref in refs:
                if not ref.subject and i - j > MENTION_WINDOW:
                    continue
                if ref.leader == OTHER:
                    if ref.gender in (None, pron):
                        return None
                    continue
                if ref.gender == pron:
                    return ref.leader
        return None


def _person_of(phrase: str) -> tuple[bool, str | None]:
    """Whether a subject phrase is a person, and its gender when the phrase says it."""
    words = WORD_RE.findall(phrase)
    if not words:
        return False, None
    last = words[-1].lower()
    if last in ("he", "him", "himself") or MALE_TITLE_RE.search(phrase):
        return True, "he"
    if last in ("she", "her", "herself") or FEMALE_TITLE_RE.search(phrase):
        return True, "she"
    if last in NON_PERSON_WORDS:
        return False, None
    if PERSON_WORD_RE.search(phrase):
        return True, None
    if NON_PERSON_RE.search(phrase):
        return False, None
    # A capitalised name that is not the sentence's first word: "Gorka", "Kelly Ayotte".
    return any(w[:1].isupper() for w in words[1:]) or (len(words) <= 3 and words[0][:1].isupper()), None


def _named_subject(masked: str) -> bool:
    """Whether a clause of the sentence begins with a name and then a verb-like word: "Axelrod
    emailed …", "In June, after Clinton fell ill, Axelrod emailed …" (not "after Clinton fell")."""
    for k, segment in enumerate(SEGMENT_SPLIT_RE.split(masked)):
        m = NAMED_SUBJECT_RE.match(segment)
        if m is None:
            continue
        words = m.group(2).split()
        if words[0].lower() in NOT_NAME_START or words[0].lower() in NON_PERSON_WORDS:
            continue
        if any(w.endswith(("ing", "ed", "ly")) for w in words):
            continue  # "Sending European soldiers was …": not a name
        # One capitalised word opening the sentence may be any word ("Photographers were …"); a
        # name needs two words, an honorific, or a place after the sentence's first word.
        if len(words) >= 2 or m.group(1) or k > 0 or HONORIFIC_START_RE.match(words[0]):
            return True
    return False


NAMED_SUBJECT_RE = re.compile(
    r"\s*((?:But|And|Then|Later|Meanwhile|Still|Now|Also)\s+)?((?:[A-Z][\w’'.-]*\s+){1,3})(?-i:[a-z]\w*)"
)


NOT_NAME_START = frozenset(
    "the a an in on at after before when while as if because since although though until during "
    "for with without from by to of this that these those his her their its our my your it he she "
    "they we i you there here what why how who where which many some most all both each every one "
    "two three yet so nor or but and then later meanwhile still now also however instead".split()
)


def _other_people(masked: str) -> list[tuple[int, str | None]]:
    """Where people are named in a sentence, with the gender a title gives: (offset, gender)."""
    out: list[tuple[int, str | None]] = []
    for m in TITLED_NAME_RE.finditer(masked):
        title = m.group(1) or ""
        out.append((m.start(2), "he" if title == "Mr" else "she" if title in ("Mrs", "Ms") else None))
    for m in DESCRIBED_RE.finditer(masked):
        name = NAME_BEFORE_RE.search(masked, max(0, m.start() - 60), m.start())
        if name is not None:
            out.append((name.start(1), None))
    return out


def _somebody(phrase: str) -> Speaker:
    """A speaker who is not a leader, with what their words say about them: a person or not,
    and the gender when it shows. The subject may sit before an appositive or relative clause
    ("Sergei Lavrov, who took part in the talks, told")."""
    chunks = [c for c in re.split(r"[,.;:" + MASK + r"(]", phrase) if c.strip()]
    for chunk in reversed(chunks[-3:]):
        person, gender = _person_of(chunk)
        if person:
            return Speaker(OTHER, True, gender, True)
    return Speaker(OTHER, True, None, False)


def _looks_like_person_subject(lead: str) -> bool:
    return bool(PERSON_SUBJECT_RE.search(lead.lower()))


def _quote_then_subject(lead: str) -> bool:
    """Whether ``lead`` (the sentence up to the subject) ends with a quotation and at most a few
    words describing the speaker: "“…,” Democratic candidate Hillary Clinton said"."""
    m = QUOTE_THEN_RE.search(lead, max(0, len(lead) - 160)) if MASK in lead else None
    if m is None:
        return False
    words = [w.lower() for w in WORD_RE.findall(m.group(1))]
    return not any(w in SAY_VERBS or w in NOT_DESCRIPTORS for w in words)


def _says_something(masked: str) -> bool:
    """Whether the words after a verb of saying are something said: a clause, a quotation or an
    infinitive ("adding that …", "saying “…”", "promising to …"), not a thing ("adding to her
    lead", "claiming his third victory")."""
    return bool(
        MASK in masked
        or FINITE_RE.search(masked)
        or re.match(
            r"\s*(?:that\b|:|(?:[\w’'-]+\s+){0,4}?to\s+(?!(?:the|a|an|his|her|their|its|this|that)\b)[a-z]+)",
            masked,
        )
    )


def _object_relative(masked: str, verb: Verb, after_verb: str) -> bool:
    """Whether the verb is inside a relative clause whose object it lacks: "the wall that Trump says
    Mexico will pay for", "Gulen, whom Erdogan accuses of …", "which he said were …"."""
    rel = RELATIVE_BEFORE_RE.search(masked, max(0, verb.start - 100), verb.start)
    if rel is None:
        return False
    between = [w.lower() for w in WORD_RE.findall(rel.group(0))[1:]]
    if all(w in AUX_WORDS for w in between):
        return False  # "Biden, who has said …": the relative pronoun is the subject
    if rel.group(0).lower().startswith("that"):
        return bool(ED_NEXT_RE.match(after_verb))  # "that" may just introduce a clause
    return not re.match(r"\s*(?:that\b|[,:]?\s*" + MASK + ")", after_verb)


def _coordinated(masked: str, pos: int) -> bool:
    """Whether the "and" before ``pos`` joins two people ("Macron and Meloni said") rather than
    two clauses ("a woman asked for a photo and Clinton said")."""
    m = re.search(r"([\w’'.-]+|" + MASK + r")\s*,?\s+and\s+$", masked[:pos])
    if m is None:
        return True
    if m.group(1) == MASK:
        return False  # "Cruz accuses Obama of “…” and Donald Trump says …": two clauses
    word = m.group(1)
    return word[:1].isupper() or bool(PERSON_NOUN_RE.fullmatch(word.lower()))


def _prev_word(masked: str, pos: int) -> str:
    m = PREV_WORD_RE.search(masked[:pos])
    return m.group(1) if m else ""


def _pronoun_at(masked: str, pos: int) -> str:
    m = PRONOUN_RE.match(masked, pos)
    return m.group(1) if m else "he"


def _standalone(s: Sentence) -> bool:
    rest = s.masked.replace(MASK, "")
    return _words(rest) == 0


def _kind(content: str, s: Sentence) -> StatementKind:
    """Reported speech is indirect even with a partial quote; wholly quoted words are direct."""
    stripped = content.strip(" .,;:")
    if stripped and stripped[0] in OPEN_CLOSE and stripped[-1] in CLOSERS:
        inner = stripped[1:-1]
        if not any(c in inner for c in "“”«»„"):
            return "direct"
    return "indirect"


def _strip_trailing_attribution(content: str, masked: str) -> str:
    """Cut "…, he said on Friday" and "according to …" tails off reported content."""
    if "said" in masked or "added" in masked or "told" in masked or "says" in masked:
        m = TRAILING_SAID_RE.search(masked)
        if m:
            content = content[: m.start()]
    if "ccording" in masked:
        m = TRAILING_ACCORDING_RE.search(masked[: len(content)])
        if m:
            content = content[: m.start()]
    return content


def _clean(text: str) -> str:
    text = " ".join(text.split())
    text = text.strip(" ,;:—–-")
    if text.endswith(".") and not text.endswith(".."):
        text = text[:-1]
    return _balance_quotes(text).strip()


def _balance_quotes(text: str) -> str:
    """Drop quote marks that open or close nothing (a cut, or the source's own typo), so a
    statement never shows a quotation that runs on without end."""
    if not CURLY_RE.search(text) and text.count('"') % 2 == 0:
        return text
    stray: set[int] = set()
    stack: list[int] = []
    for i, ch in enumerate(text):
        if ch in "“«„" and not (ch == "“" and stack and text[stack[-1]] == "„"):
            stack.append(i)
        elif ch in "”»" or (ch == "“" and stack and text[stack[-1]] == "„"):
            if stack:
                stack.pop()
            else:
                stray.add(i)
    stray.update(stack)
    if text.count('"') % 2:
        stray.add(text.rfind('"'))
    if not stray:
        return text
    return "".join(ch for i, ch in enumerate(text) if i not in stray)


def _is_headline(first: str, title: str | None, *, more: bool) -> bool:
    if more and title and " ".join(first.split()).strip(" .") == " ".join(title.split()).strip(" ."):
        return True
    if first.rstrip().endswith(":") or any(mark in first for mark in OPEN_CLOSE):
        return False  # a lede that opens a quotation
    return more and _words(first) <= 16 and len(SENTENCE_STOP_RE.findall(first)) <= 1


def _unique(items: list[Extracted]) -> list[Extracted]:
    seen: set[tuple[str, str]] = set()
    out: list[Extracted] = []
    for item in items:
        key = (item.leader, " ".join(item.text.lower().split()))
        if key in seen or not item.text or item.text.isupper():  # a shouted caption is not a statement
            continue
        seen.add(key)
        out.append(item)
    return out


def extract(
    text: str, registry: Registry, published: date | None = None, title: str | None = None
) -> list[Extracted]:
    """Convenience wrapper: the statements in ``text``, in reading order."""
    return Extractor(registry).extract(text, published, title)
