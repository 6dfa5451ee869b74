//! The built-in word lists the data set draws from: given names, surnames, cities and
//! e-mail domains, all lowercase ASCII (the data set holds normalised values).

/// Given names.
#[rustfmt::skip]
pub(crate) const FIRST_NAMES: &[&str] = &[
    "james", "mary", "john", "patricia", "robert", "jennifer", "michael", "linda", "william",
    "elizabeth", "david", "barbara", "richard", "susan", "joseph", "jessica", "thomas", "sarah",
    "charles", "karen", "christopher", "nancy", "daniel", "lisa", "matthew", "betty", "anthony",
    "margaret", "mark", "sandra", "donald", "ashley", "steven", "kimberly", "paul", "emily",
    "andrew", "donna", "joshua", "michelle", "kenneth", "dorothy", "kevin", "carol", "brian",
    "amanda", "george", "melissa", "edward", "deborah", "ronald", "stephanie", "timothy",
    "rebecca", "jason", "sharon", "jeffrey", "laura", "ryan", "cynthia", "jacob", "kathleen",
    "gary", "amy", "nicholas", "shirley", "eric", "angela", "jonathan", "helen", "stephen",
    "anna", "larry", "brenda", "justin", "pamela", "scott", "nicole", "brandon", "emma",
    "benjamin", "samantha", "samuel", "katherine", "gregory", "christine", "frank", "debra",
    "alexander", "rachel", "raymond", "catherine", "patrick", "carolyn", "jack", "janet",
    "dennis", "ruth", "jerry", "maria", "tyler", "heather", "aaron", "diane", "jose",
    "virginia", "adam", "julie", "henry", "joyce", "nathan", "victoria", "douglas", "olivia",
    "zachary", "kelly", "peter", "christina", "kyle", "lauren", "walter", "joan", "ethan",
    "evelyn", "jeremy", "judith", "harold", "megan", "keith", "cheryl", "christian", "andrea",
    "roger", "hannah", "noah", "martha", "gerald", "jacqueline", "carl", "frances", "terry",
    "gloria", "sean", "ann", "austin", "teresa", "arthur", "kathryn", "lawrence", "sara",
    "jesse", "janice", "dylan", "jean", "bryan", "alice", "joe", "madison", "jordan", "doris",
    "billy", "abigail", "bruce", "julia", "albert", "judy", "willie", "grace", "gabriel",
    "denise", "logan", "amber", "alan", "marilyn", "juan", "beverly", "wayne", "danielle",
    "roy", "theresa", "ralph", "sophia", "randy", "marie", "eugene", "diana", "vincent",
    "brittany", "russell", "natalie", "elijah", "isabella", "louis", "charlotte", "bobby",
    "rose", "philip", "alexis", "johnny", "kayla", "luca", "giulia", "marco", "chiara",
    "matteo", "francesca", "lukas", "lena", "felix", "mia", "jonas", "lea", "hugo", "chloe",
    "louis", "manon", "pablo", "lucia", "alvaro", "carmen", "sven", "ingrid", "lars", "astrid",
    "piotr", "agnieszka", "tomasz", "katarzyna", "hiroshi", "yuki", "kenji", "sakura", "wei",
    "mei", "arjun", "priya", "rahul", "ananya", "omar", "fatima", "ali", "layla", "mateo",
    "valentina",
];

/// Surnames.
#[rustfmt::skip]
pub(crate) const SURNAMES: &[&str] = &[
    "smith", "johnson", "williams", "brown", "jones", "garcia", "miller", "davis", "rodriguez",
    "martinez", "hernandez", "lopez", "gonzalez", "wilson", "anderson", "thomas", "taylor",
    "moore", "jackson", "martin", "lee", "perez", "thompson", "white", "harris", "sanchez",
    "clark", "ramirez", "lewis", "robinson", "walker", "young", "allen", "king", "wright",
    "scott", "torres", "nguyen", "hill", "flores", "green", "adams", "nelson", "baker", "hall",
    "rivera", "campbell", "mitchell", "carter", "roberts", "gomez", "phillips", "evans",
    "turner", "diaz", "parker", "cruz", "edwards", "collins", "reyes", "stewart", "morris",
    "morales", "murphy", "cook", "rogers", "gutierrez", "ortiz", "morgan", "cooper", "peterson",
    "bailey", "reed", "kelly", "howard", "ramos", "kim", "cox", "ward", "richardson", "watson",
    "brooks", "chavez", "wood", "james", "bennett", "gray", "mendoza", "ruiz", "hughes",
    "price", "alvarez", "castillo", "sanders", "patel", "myers", "long", "ross", "foster",
    "jimenez", "powell", "jenkins", "perry", "russell", "sullivan", "bell", "coleman", "butler",
    "henderson", "barnes", "gonzales", "fisher", "vasquez", "simmons", "romero", "jordan",
    "patterson", "alexander", "hamilton", "graham", "reynolds", "griffin", "wallace", "moreno",
    "west", "cole", "hayes", "bryant", "herrera", "gibson", "ellis", "tran", "medina",
    "aguilar", "stevens", "murray", "ford", "castro", "marshall", "owens", "harrison",
    "fernandez", "mcdonald", "woods", "washington", "kennedy", "wells", "vargas", "henry",
    "chen", "freeman", "webb", "tucker", "guzman", "burns", "crawford", "olson", "simpson",
    "porter", "hunter", "gordon", "mendez", "silva", "shaw", "snyder", "mason", "dixon",
    "munoz", "hunt", "hicks", "holmes", "palmer", "wagner", "black", "robertson", "boyd",
    "rose", "stone", "salazar", "fox", "warren", "mills", "meyer", "rice", "schmidt", "garza",
    "daniels", "ferguson", "nichols", "stephens", "soto", "weaver", "ryan", "gardner", "payne",
    "grant", "dunn", "kelley", "spencer", "hawkins", "arnold", "pierce", "vazquez", "hansen",
    "peters", "santos", "hart", "bradley", "knight", "elliott", "cunningham", "duncan",
    "armstrong", "hudson", "carroll", "lane", "riley", "andrews", "alvarado", "ray", "delgado",
    "berry", "perkins", "hoffman", "johnston", "matthews", "pena", "richards", "contreras",
    "willis", "carpenter", "lawrence", "sandoval", "rossi", "russo", "ferrari", "esposito",
    "bianchi", "romano", "colombo", "ricci", "marino", "greco", "muller", "schneider",
    "fischer", "weber", "becker", "schulz", "koch", "richter", "klein", "wolf", "dubois",
    "durand", "leroy", "moreau", "simon", "laurent", "lefebvre", "michel", "fournier", "girard",
    "kowalski", "nowak", "wisniewski", "wojcik", "kaminski", "lewandowski", "zielinski",
    "johansson", "andersson", "karlsson", "nilsson", "eriksson", "larsson", "olsson", "persson",
    "svensson", "gustafsson", "tanaka", "suzuki", "takahashi", "watanabe", "yamamoto",
    "nakamura", "kobayashi", "sato", "wang", "li", "zhang", "liu", "yang", "huang", "zhao",
    "zhou", "wu", "xu", "sharma", "singh", "kumar", "gupta", "mehta", "khan", "hussain",
    "ahmed", "rahman", "hassan",
];

/// Cities.
#[rustfmt::skip]
pub(crate) const CITIES: &[&str] = &[
    "london", "paris", "berlin", "madrid", "rome", "vienna", "amsterdam", "brussels", "lisbon",
    "dublin", "prague", "warsaw", "budapest", "stockholm", "oslo", "copenhagen", "helsinki",
    "zurich", "geneva", "munich", "hamburg", "frankfurt", "cologne", "milan", "naples", "turin",
    "barcelona", "valencia", "seville", "porto", "lyon", "marseille", "toulouse", "nice",
    "rotterdam", "antwerp", "krakow", "gdansk", "gothenburg", "malmo", "bergen", "aarhus",
    "tampere", "basel", "salzburg", "graz", "new york", "boston", "chicago", "seattle",
    "denver", "austin", "atlanta", "toronto", "montreal", "vancouver", "sydney", "melbourne",
    "tokyo", "osaka", "seoul", "singapore", "mumbai", "delhi", "shanghai", "beijing",
];

/// E-mail domains.
#[rustfmt::skip]
pub(crate) const DOMAINS: &[&str] = &[
    "gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "proton.me", "icloud.com", "gmx.de",
    "web.de", "orange.fr", "libero.it", "mail.com", "example.org",
];
