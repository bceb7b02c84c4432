"""The words clerks head their columns and write their codes with, in English, French, Spanish, Portuguese.

Why a table of words and not only fuzzy matching: "Sexe", "Sexo" and
"Gender" share no letters worth scoring, and "Nom" (French: the family name)
is one letter from "Nome" (Portuguese: the given name).  Exact words are
trusted (high confidence); :mod:`importer.suggest` falls back on fuzzy
matching only for spellings near one of these words (typos), and says so.

Every phrase is written here as a person would; :func:`words` normalises it
the way a header is normalised (accents, case, punctuation and the small
words "de", "of", "du"... dropped), so "Date de naissance", "date_naissance"
and "DateNaissance" are the same phrase.

A *concept* names what a column holds: ``(scope, what)``.  ``scope`` is
``group``, ``individual``, ``membership``, or ``*`` (a registrant field that
belongs to whichever entity the table holds: a phone on a households sheet
is the household's).  ``what`` is a registry field (``importer.fields``),
``key`` (the entity's own identifier), ``id:<ID type>`` (and ``expiry:<ID type>``,
when that ID stops being valid), or a person's bank account (``bank:account``)
and the bank it is held at (``bank:bank``).
"""

from __future__ import annotations

import re
import unicodedata

Concept = tuple[str, str]


def _tokens(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _list(text: str) -> tuple[str, ...]:
    """Phrases one after another, separated by "|" (compact to read, and to keep)."""
    return tuple(p.strip() for p in text.split("|"))


#: Small words that carry no meaning in a header ("Date *de* naissance", "Date *of* birth").
STOPWORDS = _tokens(
    "de du des d la le les l el los las del do da dos das of the a en em y et and on in par por para"
)
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_NOT_WORD = re.compile(r"[^a-z0-9]+")


def words(text: str) -> str:
    """A header or value as comparable words: "Nº de ménage" -> "no menage", "DateOfBirth" -> "date birth"."""
    spaced = _CAMEL.sub(" ", text)
    decomposed = unicodedata.normalize("NFKD", spaced.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    tokens = [t for t in _NOT_WORD.split(plain) if t and t not in STOPWORDS]
    return " ".join(tokens)


#: Words that say a column belongs to the household ("Nom du *ménage*", "*hh*_code", "*Group* ID").
GROUP_WORDS = _tokens(
    "household households hh group groups groupe grupo menage menages foyer hogar hogares agregado"
)
#: Words that say a column belongs to the person ("*Person* ID", "*member*_code", "Nº *individu*").
PERSON_WORDS = _tokens(
    "person persons people individual individuals individu individuo individuos indv ind "
    "member members membre membres miembro miembros membro membros persona personas pessoa "
    "pessoas personne personnes beneficiary beneficiaire beneficiario beneficiaria respondent"
)
#: Words that say when an ID stops being valid ("Passport *expiry*", "*Date d'expiration* CNI").
EXPIRY_WORDS = _tokens(
    "expiry expires expire expiring expiration expiracion expiracao valid validity until vencimiento "
    "vence validade validite date"
)
#: Single tokens that are a key on their own ("hhid", "pid").
KEY_TOKENS: dict[str, str] = {"hhid": "group", "hid": "group", "pid": "individual", "indid": "individual"}

#: What is left of a header once its household or person word is taken away ("Nº de *ménage*" -> "no").
GENERIC: dict[str, str] = {}
for _what, _phrases in {
    "key": _list(
        "id|code|no|n|num|nr|nbr|number|numero|ref|reference|identifier|identifiant|identificador|"
        "codigo|cod|key|clave|chave|cle|uid|id number|code id|no id"
    ),
    "name": _list("name|nom|nombre|nome|designation|libelle"),
    "kind": _list("type|kind|category|categorie|tipo|categoria|clase|classe"),
}.items():
    for _p in _phrases:
        GENERIC[words(_p)] = _what

#: Whole headers, each naming one concept (or several: then the header is ambiguous).
_PHRASES: dict[Concept, tuple[str, ...]] = {
    ("individual", "given_name"): _list(
        "first name|given name|given names|forename|forenames|firstname|fname|given|prenom|"
        "prenoms|nombre|nombres|primer nombre|nome|primeiro nome|nome proprio|nome proprio|first"
    ),
    ("individual", "family_name"): _list(
        "last name|family name|surname|lastname|lname|last|nom|nom famille|nom de famille|"
        "patronyme|apellido|apellidos|primer apellido|sobrenome|apelido|apelidos|nome familia|"
        "nome de familia"
    ),
    ("individual", "addl_name"): _list(
        "middle name|middle names|other names|other name|second name|additional name|"
        "deuxieme prenom|autres prenoms|segundo nombre|otros nombres|nome do meio|segundo nome|"
        "outros nomes|middle"
    ),
    ("individual", "name"): _list("full name|nom complet|nombre completo|nome completo"),
    ("individual", "gender"): _list("gender|sex|sexe|sexo|genero|genre|m f|h f|sex m f"),
    ("individual", "birthdate"): _list(
        "date of birth|birth date|birthdate|dob|d o b|born|born on|birthday|date de naissance|"
        "date naissance|ne le|nee le|ne e le|naissance|fecha de nacimiento|fecha nacimiento|"
        "fecha nac|f nacimiento|nacimiento|fec nac|data de nascimento|data nascimento|data nasc|"
        "nascimento|dt nascimento"
    ),
    ("individual", "birth_place"): _list(
        "place of birth|birth place|birthplace|pob|lieu de naissance|lieu naissance|"
        "lugar de nacimiento|lugar nacimiento|local de nascimento|naturalidade"
    ),
    ("individual", "birthdate_not_exact"): _list(
        "approximate birthdate|birthdate approximate|birth date approximate|dob estimated|"
        "date de naissance approximative|fecha de nacimiento aproximada|"
        "data de nascimento aproximada"
    ),
    ("individual", "occupation"): _list(
        "occupation|profession|job|metier|emploi|ocupacion|profesion|oficio|ocupacao|profissao"
    ),
    ("individual", "civil_status"): _list(
        "civil status|marital status|etat civil|situation matrimoniale|estado civil"
    ),
    ("*", "registration_date"): _list(
        "registration date|registered on|date registered|registered|date of registration|"
        "registration|date d enregistrement|date enregistrement|enregistre le|date inscription|"
        "date d inscription|inscrit le|fecha de registro|fecha registro|fecha de inscripcion|"
        "registrado el|data de registo|data de registro|data registro|data de cadastro|"
        "data de inscricao"
    ),
    ("*", "phone"): _list(
        "phone|telephone|tel|phone number|telephone number|phone no|tel no|telefono|telefone|"
        "numero de telephone|numero de telefono|numero de telefone|contact|contact number|"
        "other phone|second phone|phone 2|alternative phone|alternate phone|autre telephone|"
        "otro telefono|outro telefone"
    ),
    ("*", "mobile"): _list(
        "mobile|mobile number|mobile phone|cell|cell phone|cellphone|portable|telephone portable|"
        "celular|movil|telefono movil|telemovel|telefone celular"
    ),
    ("individual", "phone:collected"): _list(
        "date collected|collected on|date of collection|collection date|phone collected|"
        "phone collected on|date phone collected|number collected on|date de collecte|collecte le|"
        "fecha de recoleccion|recolectado el|data de coleta|coletado em"
    ),
    ("*", "email"): _list(
        "email|e mail|mail|email address|courriel|adresse email|adresse electronique|correo|"
        "correo electronico|endereco de email|endereco eletronico"
    ),
    ("*", "income"): _list(
        "income|monthly income|revenu|revenus|revenu mensuel|ingreso|ingresos|ingreso mensual|"
        "renda|renda mensal|rendimento|rendimento mensal"
    ),
    ("*", "address"): _list("address|adresse|direccion|endereco|morada|street|street address|residence"),
    ("*", "area_id"): _list(
        "area|area code|area name|administrative area|zone|region|district|province|"
        "municipality|barangay|zona|regiao|distrito|municipio|provincia|code zone"
    ),
    ("*", "bank:account"): _list(
        "bank account|bank account number|bank account no|account number|account no|acct no|"
        "iban|compte bancaire|numero de compte|no compte|n compte|rib|cuenta bancaria|numero de cuenta|"
        "no cuenta|n cuenta|conta bancaria|numero da conta|n conta|nib|savings account|second account|"
        "other account|compte epargne|cuenta de ahorros|conta poupanca"
    ),
    ("*", "bank:bank"): _list(
        "bank|bank name|name of bank|bic|swift|swift code|banque|nom de la banque|banco|"
        "nombre del banco|nome do banco"
    ),
    ("*", "tags_ids"): _list("tags|tag|etiquettes|etiquetas|labels"),
    ("membership", "kind"): _list(
        "role|relationship|relation|relationship to head|relation to head|membership kind|"
        "membership role|member type|member role|role in household|household role|lien|"
        "lien de parente|lien parente|lien avec le chef|lien avec chef de menage|relation au chef|"
        "role dans le menage|parentesco|relacion|relacion con el jefe|relacion con jefe de hogar|"
        "rol|papel|relacao|grau de parentesco|relacao com o chefe|parentesco com o chefe"
    ),
    ("membership", "start_date"): _list(
        "member since|joined|joined on|join date|date joined|start date|membership start|since|"
        "membre depuis|date d entree|date entree|entree|fecha de ingreso|miembro desde|desde|"
        "data de entrada|membro desde|entrada"
    ),
    ("membership", "ended_date"): _list(
        "left on|left|date left|end date|ended|membership end|until|date de sortie|sortie|"
        "parti le|fecha de salida|salida|hasta|data de saida|saida|saiu em"
    ),
    ("relationship", "destination"): _list(
        "related person|related person id|related person code|related member|related member id|"
        "related id|related to|relative|relative id|other person|other person id|"
        "personne liee|id personne liee|identifiant personne liee|individu lie|identifiant individu lie|"
        "id individu lie|code individu lie|persona relacionada|id persona relacionada|"
        "individuo relacionado|id individuo relacionado|pessoa relacionada|id pessoa relacionada"
    ),
    ("*", "id:National ID"): _list(
        "national id|nid|nin|national id number|national identity number|"
        "national identification number|id number|identity number|id card|identity card|"
        "national id card|carte d identite|carte identite|carte nationale d identite|cni|"
        "numero cni|no cni|numero d identite|piece d identite|cedula|cedula de identidad|dni|"
        "documento de identidad|numero de documento|no documento|documento|bilhete de identidade|"
        "bi|numero bi|cartao de cidadao|cpf|rg"
    ),
    ("*", "id:Passport"): _list(
        "passport|passport number|passport no|passeport|numero de passeport|pasaporte|"
        "numero de pasaporte|passaporte|numero do passaporte"
    ),
    # Headers that say "a date" and nothing more: which date is a question, never a guess.
    ("individual", "birthdate|*:registration_date|membership:start_date"): _list("date|fecha|data"),
}

#: Likely, but a clerk should look (medium): addresses given as a place; "Account" alone.
WEAK_PHRASES: dict[Concept, tuple[str, ...]] = {
    ("*", "address"): _list(
        "village|localite|quartier|commune|aldea|pueblo|localidad|barrio|comunidad|aldeia|bairro|"
        "localidade|community|location|lieu|lugar|local"
    ),
    ("*", "bank:account"): _list("account|compte|cuenta|conta"),
}


def _phrase_table() -> dict[str, list[Concept]]:
    table: dict[str, list[Concept]] = {}
    for (scope, what), phrases in _PHRASES.items():
        concepts = [_split(part, scope) for part in what.split("|")]
        for phrase in phrases:
            hits = table.setdefault(words(phrase), [])
            hits.extend(c for c in concepts if c not in hits)
    return table


#: The target prefix of an ID's expiry date, written beside its number under ``ids:``.
EXPIRY = "expiry:"
#: Targets of a person's own records (an ID, its expiry, an account, a phone number): written in
#: the mapping's lists (``ids:``, ``bank_accounts:``, ``phones:``), never ``entity:field``.
RECORD_PREFIXES = ("id:", EXPIRY, "bank:", "phone:")


def _split(part: str, scope: str) -> Concept:
    """``"membership:start_date"`` -> ("membership", "start_date"); a bare name keeps ``scope``."""
    if ":" in part and not part.startswith(RECORD_PREFIXES):
        s, w = part.split(":", 1)
        return (s, w)
    return (scope, part)


#: normalised phrase -> the concept(s) it names
PHRASES: dict[str, list[Concept]] = _phrase_table()
WEAK: dict[str, list[Concept]] = {
    words(p): [concept] for concept, phrases in WEAK_PHRASES.items() for p in phrases
}

# -- coded values ------------------------------------------------------------------------------

#: The registry's usual value (as an English install names it) -> the words clerks write for it.
#: ``""`` in membership kinds: a member with no kind (spouse, child...), as the shipped mappings say.
VALUE_WORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "gender": {
        "Female": _list(
            "f|female|woman|women|girl|w|femme|feminin|feminine|fille|mujer|femenino|femenina|nina|"
            "mulher|feminino|menina"
        ),
        "Male": _list("m|male|man|men|boy|homme|h|masculin|garcon|hombre|masculino|varon|nino|homem|menino"),
    },
    "group.kind": {
        "Household": _list("household|hh|menage|foyer|hogar|agregado|agregado familiar|domicilio"),
        "Family": _list("family|famille|familia"),
    },
    "membership.kind": {
        "Head": _list(
            "head|head of household|household head|hoh|hh head|chef|chef de menage|chef du menage|"
            "chef de famille|cm|jefe|jefa|jefe de hogar|jefa de hogar|jefe del hogar|"
            "cabeza de familia|jefe de familia|chefe|chefe de familia|chefe do agregado|"
            "chefe de agregado|responsavel"
        ),
        "": _list(
            "member|membre|miembro|membro|spouse|wife|husband|partner|conjoint|conjointe|epoux|epouse|"
            "esposo|esposa|conyuge|marido|conjuge|child|son|daughter|enfant|fils|fille|hijo|hija|"
            "filho|filha|parent|father|mother|pere|mere|padre|madre|pai|mae|grandchild|grandson|"
            "granddaughter|petit enfant|petit fils|petite fille|nieto|nieta|neto|neta|sibling|brother|"
            "sister|frere|soeur|hermano|hermana|irmao|irma|relative|other relative|autre parent|"
            "otro pariente|outro parente|pariente|parente|other|autre|otro|otra|outro|outra|"
            "non relative|dependent"
        ),
    },
}


#: A relationship's type: the usual English names (the server's own, by name or inverse name,
#: are matched first), in the words a relationships sheet uses.
VALUE_WORDS["relationship.relation"] = {
    "Spouse": _list(
        "spouse|wife|husband|partner|conjoint|conjointe|epoux|epouse|mari|femme|esposo|esposa|"
        "conyuge|marido|mujer|conjuge|companheiro|companheira"
    ),
    "Parent": _list("parent|father|mother|pere|mere|padre|madre|pai|mae|progenitor"),
    "Child": _list("child|son|daughter|enfant|fils|fille|hijo|hija|filho|filha"),
    "Sibling": _list("sibling|brother|sister|frere|soeur|hermano|hermana|irmao|irma"),
}


def value_words(field: str) -> dict[str, str]:
    """Normalised word -> the registry's usual value, for one coded field (``gender``...)."""
    return {words(w): target for target, ws in VALUE_WORDS.get(field, {}).items() for w in ws}
