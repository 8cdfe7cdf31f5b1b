"""Word lists the synthetic population is drawn from: names, places, streets and organisation
words for a China-style and an India-style population. Pure data, no randomness.

Every place here is an administrative area whose code python-stdnum accepts in a resident
identity card for every birth year 1940-2010 (checked in the tests)."""

from __future__ import annotations

# fmt: off
# --- persons: China (pinyin) -------------------------------------------------------------

#: (surname, relative frequency)
CN_FAMILY: tuple[tuple[str, float], ...] = (
    ("Wang", 7.2), ("Li", 7.1), ("Zhang", 6.8), ("Liu", 5.4), ("Chen", 4.5), ("Yang", 3.1),
    ("Huang", 2.3), ("Zhao", 2.2), ("Wu", 2.0), ("Zhou", 1.9), ("Xu", 1.5), ("Sun", 1.5),
    ("Ma", 1.4), ("Zhu", 1.3), ("Hu", 1.3), ("Guo", 1.2), ("He", 1.2), ("Gao", 1.1), ("Lin", 1.1),
    ("Luo", 1.0), ("Zheng", 1.0), ("Liang", 0.9), ("Xie", 0.8), ("Song", 0.8), ("Tang", 0.8),
    ("Han", 0.7), ("Feng", 0.7), ("Deng", 0.7), ("Cao", 0.7), ("Peng", 0.6), ("Zeng", 0.6),
    ("Xiao", 0.6), ("Tian", 0.6), ("Dong", 0.5), ("Yuan", 0.5), ("Pan", 0.5), ("Yu", 0.5),
    ("Jiang", 0.5), ("Cai", 0.5), ("Jia", 0.4), ("Ding", 0.4), ("Wei", 0.4), ("Xue", 0.4),
    ("Ye", 0.4), ("Yan", 0.4), ("Du", 0.3), ("Dai", 0.3), ("Qian", 0.3), ("Fu", 0.3),
    ("Shen", 0.3), ("Ren", 0.3), ("Yao", 0.3), ("Cui", 0.3), ("Jin", 0.3), ("Qiu", 0.2),
    ("Kong", 0.2), ("Bai", 0.2), ("Hou", 0.2),
)

CN_GIVEN_MALE = (
    "Wei", "Jun", "Qiang", "Lei", "Jian", "Ming", "Hao", "Tao", "Peng", "Bo", "Gang", "Yong",
    "Jie", "Chao", "Long", "Dong", "Feng", "Cheng", "Kai", "Bin", "Guo", "Hai", "Zhi", "Xiao",
    "Xiang", "Zhen", "Wen", "Yu", "Hui", "Liang",
)
CN_GIVEN_FEMALE = (
    "Li", "Mei", "Fang", "Na", "Xiu", "Ying", "Hua", "Yan", "Juan", "Xia", "Ling", "Jing", "Lan",
    "Hong", "Yun", "Qing", "Xue", "Ting", "Xin", "Dan", "Lu", "Shan", "Yue", "Jia", "Min", "Qian",
    "Wen", "Zi", "Hui", "Xiao",
)

#: Older (Wade-Giles or Cantonese) romanisations a furnisher may still use.
CN_ROMANISATIONS: dict[str, tuple[str, ...]] = {
    "Zhang": ("Chang",), "Zhou": ("Chou",), "Zhao": ("Chao",), "Xu": ("Hsu",), "Xiao": ("Hsiao",),
    "Xie": ("Hsieh",), "Huang": ("Hwang", "Wong"), "Li": ("Lee",), "Chen": ("Chan",),
    "Liu": ("Lau",), "Wu": ("Woo",), "Guo": ("Kuo",), "Zheng": ("Cheng",), "Jiang": ("Chiang",),
    "Cai": ("Tsai",), "Qian": ("Chien",), "Lin": ("Lim",), "Yang": ("Yeung",), "Cao": ("Tsao",),
    "Zhu": ("Chu",), "Gao": ("Kao",), "Cui": ("Tsui",), "Deng": ("Teng",), "Dong": ("Tung",),
    "Qiu": ("Chiu",), "Jin": ("Chin",), "Song": ("Sung",), "Feng": ("Fung",), "He": ("Ho",),
    "Zhi": ("Chih",), "Jian": ("Chien",), "Jun": ("Chun",), "Qiang": ("Chiang",),
    "Xiang": ("Hsiang",), "Zhen": ("Chen",), "Xin": ("Hsin",), "Qing": ("Ching",),
    "Xue": ("Hsueh",), "Xiu": ("Hsiu",), "Jing": ("Ching",), "Jie": ("Chieh",), "Xia": ("Hsia",),
    "Juan": ("Chuan",), "Zi": ("Tzu",), "Gang": ("Kang",), "Bo": ("Po",), "Dan": ("Tan",),
    "Jia": ("Chia",), "Peng": ("Peng",),
}

# --- persons: India ----------------------------------------------------------------------

IN_GIVEN_MALE = (
    "Rajesh", "Suresh", "Ramesh", "Amit", "Rahul", "Vijay", "Sanjay", "Anil", "Sunil", "Arun",
    "Ajay", "Manoj", "Deepak", "Ravi", "Krishna", "Srinivas", "Sridhar", "Srikanth", "Mohammed",
    "Abdul", "Imran", "Vikram", "Arjun", "Rohit", "Nikhil", "Prakash", "Ganesh", "Mahesh",
    "Naveen", "Kiran", "Venkatesh", "Harish", "Sandeep", "Gaurav", "Pradeep", "Ashok", "Anand",
    "Karthik", "Mukesh", "Dinesh", "Satish", "Yusuf", "Faisal", "Gurpreet", "Manish", "Vivek",
    "Aditya", "Siddharth", "Varun", "Sachin",
)
IN_GIVEN_FEMALE = (
    "Priya", "Anjali", "Sunita", "Lakshmi", "Kavita", "Pooja", "Neha", "Deepa", "Meena", "Anita",
    "Rekha", "Swati", "Divya", "Shreya", "Aishwarya", "Fatima", "Ayesha", "Sneha", "Pallavi",
    "Radha", "Geeta", "Usha", "Asha", "Savitri", "Nandini", "Shalini", "Jyoti", "Bhavna", "Ritu",
    "Manpreet", "Simran", "Kiran", "Madhuri", "Padma", "Revathi", "Sujata", "Vandana", "Archana",
    "Sarita", "Harpreet",
)
IN_FAMILY: tuple[tuple[str, float], ...] = tuple(
    (name, 1.0)
    for name in (
        "Sharma", "Verma", "Gupta", "Singh", "Kumar", "Patel", "Shah", "Mehta", "Reddy", "Rao",
        "Naidu", "Iyer", "Nair", "Menon", "Pillai", "Das", "Banerjee", "Chatterjee", "Mukherjee",
        "Bose", "Ghosh", "Sen", "Joshi", "Kulkarni", "Deshpande", "Patil", "Jadhav", "Pawar",
        "Khan", "Ahmed", "Ansari", "Qureshi", "Sheikh", "Siddiqui", "Agarwal", "Jain", "Bansal",
        "Goyal", "Mishra", "Tiwari", "Pandey", "Dubey", "Yadav", "Chauhan", "Thakur", "Gill",
        "Sandhu", "Dhillon", "Malhotra", "Kapoor", "Khanna", "Chopra", "Bhat", "Hegde", "Shetty",
        "Kamath", "Krishnan", "Subramanian", "Venkataraman",
    )
)

#: Spelling variants of Indian names seen across furnishers.
IN_SPELLINGS: dict[str, tuple[str, ...]] = {
    "Mohammed": ("Mohammad", "Muhammad", "Mohamed"), "Srinivas": ("Shrinivas", "Sreenivas"),
    "Sridhar": ("Shridhar",), "Srikanth": ("Shrikant", "Srikant"), "Lakshmi": ("Laxmi",),
    "Ahmed": ("Ahmad",), "Qureshi": ("Kureshi",), "Chatterjee": ("Chatterji",),
    "Banerjee": ("Banerji",), "Mukherjee": ("Mukherji",), "Iyer": ("Ayyar",),
    "Pillai": ("Pillay",), "Reddy": ("Reddi",), "Jyoti": ("Jyothi",), "Shreya": ("Sreya",),
    "Siddiqui": ("Siddiqi",), "Yusuf": ("Yousuf", "Yousef"), "Faisal": ("Faizal",),
    "Kavita": ("Kavitha",), "Sunita": ("Sunitha",), "Swati": ("Swathi",), "Anita": ("Anitha",),
    "Geeta": ("Gita", "Geetha"), "Naveen": ("Navin",), "Pradeep": ("Pradip",),
    "Sandeep": ("Sandip",), "Satish": ("Sathish",), "Karthik": ("Kartik",), "Ashok": ("Asok",),
    "Kumar": ("Kumaar",), "Agarwal": ("Aggarwal", "Agrawal"), "Sheikh": ("Shaikh",),
}

# --- places ------------------------------------------------------------------------------

#: (area code, city, province, city in Chinese, postcode prefix, weight)
CN_PLACES: tuple[tuple[str, str, str, str, str, float], ...] = (
    ("110105", "Beijing", "Beijing", "北京", "1000", 3.0),
    ("110108", "Beijing", "Beijing", "北京", "1000", 2.0),
    ("310104", "Shanghai", "Shanghai", "上海", "2000", 3.0),
    ("310101", "Shanghai", "Shanghai", "上海", "2000", 2.0),
    ("120101", "Tianjin", "Tianjin", "天津", "3000", 2.0),
    ("440100", "Guangzhou", "Guangdong", "广州", "5100", 3.0),
    ("440300", "Shenzhen", "Guangdong", "深圳", "5180", 3.0),
    ("330100", "Hangzhou", "Zhejiang", "杭州", "3100", 2.0),
    ("330200", "Ningbo", "Zhejiang", "宁波", "3150", 1.0),
    ("320100", "Nanjing", "Jiangsu", "南京", "2100", 1.5),
    ("320500", "Suzhou", "Jiangsu", "苏州", "2150", 1.5),
    ("510100", "Chengdu", "Sichuan", "成都", "6100", 2.5),
    ("420100", "Wuhan", "Hubei", "武汉", "4300", 2.0),
    ("610100", "Xi'an", "Shaanxi", "西安", "7100", 1.5),
    ("370100", "Jinan", "Shandong", "济南", "2500", 1.0),
    ("370200", "Qingdao", "Shandong", "青岛", "2660", 1.0),
    ("350200", "Xiamen", "Fujian", "厦门", "3610", 0.8),
    ("430100", "Changsha", "Hunan", "长沙", "4100", 1.2),
    ("410100", "Zhengzhou", "Henan", "郑州", "4500", 1.5),
    ("210100", "Shenyang", "Liaoning", "沈阳", "1100", 1.0),
    ("530100", "Kunming", "Yunnan", "昆明", "6500", 1.0),
    ("340100", "Hefei", "Anhui", "合肥", "2300", 1.0),
    ("360100", "Nanchang", "Jiangxi", "南昌", "3300", 0.8),
    ("450100", "Nanning", "Guangxi", "南宁", "5300", 0.8),
)

#: (city, state, PIN prefix, weight)
IN_PLACES: tuple[tuple[str, str, str, float], ...] = (
    ("Mumbai", "Maharashtra", "400", 3.0), ("Pune", "Maharashtra", "411", 1.5),
    ("Nagpur", "Maharashtra", "440", 0.8), ("New Delhi", "Delhi", "110", 3.0),
    ("Bengaluru", "Karnataka", "560", 2.5), ("Mysuru", "Karnataka", "570", 0.5),
    ("Chennai", "Tamil Nadu", "600", 2.0), ("Coimbatore", "Tamil Nadu", "641", 0.7),
    ("Hyderabad", "Telangana", "500", 2.0), ("Kolkata", "West Bengal", "700", 2.0),
    ("Ahmedabad", "Gujarat", "380", 1.5), ("Surat", "Gujarat", "395", 1.0),
    ("Jaipur", "Rajasthan", "302", 1.0), ("Lucknow", "Uttar Pradesh", "226", 1.0),
    ("Kanpur", "Uttar Pradesh", "208", 0.8), ("Patna", "Bihar", "800", 0.8),
    ("Bhopal", "Madhya Pradesh", "462", 0.6), ("Indore", "Madhya Pradesh", "452", 0.7),
    ("Kochi", "Kerala", "682", 0.6), ("Thiruvananthapuram", "Kerala", "695", 0.5),
    ("Chandigarh", "Chandigarh", "160", 0.4), ("Ludhiana", "Punjab", "141", 0.5),
    ("Bhubaneswar", "Odisha", "751", 0.5), ("Guwahati", "Assam", "781", 0.4),
    ("Visakhapatnam", "Andhra Pradesh", "530", 0.6),
)

#: Former or alternative city names some furnishers still write.
CITY_ALIASES: dict[str, str] = {
    "Bengaluru": "Bangalore", "Mumbai": "Bombay", "Kolkata": "Calcutta", "Chennai": "Madras",
    "Mysuru": "Mysore", "New Delhi": "Delhi", "Thiruvananthapuram": "Trivandrum", "Xi'an": "Xian",
    "Beijing": "Peking", "Guangzhou": "Canton", "Xiamen": "Amoy",
}

CN_STREETS = (
    "Jianshe", "Renmin", "Zhongshan", "Jiefang", "Heping", "Xinhua", "Wenhua", "Chang'an",
    "Dongfeng", "Yan'an", "Huaihai", "Shennan", "Tianhe", "Binjiang", "Hubin", "Xueyuan", "Keji",
    "Chaoyang", "Fuxing", "Minzhu", "Gongye", "Huancheng", "Jinxiu", "Longhua", "Wuyi",
)
IN_STREETS = (
    "MG", "Nehru", "Station", "Park", "Market", "Lake", "Hill", "Gandhi", "Tilak", "Shivaji",
    "Ambedkar", "Subhash", "Rajaji", "Residency", "Brigade", "Linking", "Carter", "Ring", "Link",
    "College", "Mall", "Canal", "Fort", "Mint",
)
STREET_KINDS = ("Road", "Street", "Avenue")
IN_STREET_KINDS = ("Road", "Marg", "Street", "Nagar", "Lane")
#: (long form, abbreviation) used by furnishers that abbreviate addresses
ADDRESS_ABBREVIATIONS = (
    ("Road", "Rd"), ("Street", "St"), ("Avenue", "Ave"), ("Building", "Bldg"),
    ("Apartments", "Apts"),
)
IN_SOCIETIES = (
    "Sai Krupa", "Green Park", "Sunshine", "Lake View", "Palm Grove", "Shanti Niketan",
    "Silver Oak", "Royal Residency", "Sea Breeze", "Vasant Vihar",
)

# --- organisations -----------------------------------------------------------------------

#: (pinyin, Chinese) trade names
CN_TRADE = (
    ("Huaxin", "华信"), ("Zhongtian", "中天"), ("Hengda", "恒达"), ("Jinhui", "金辉"),
    ("Tianyu", "天宇"), ("Xinghe", "星河"), ("Boyuan", "博远"), ("Ruifeng", "瑞丰"),
    ("Longteng", "龙腾"), ("Hongxing", "宏兴"), ("Dingsheng", "鼎盛"), ("Kaida", "凯达"),
    ("Yongan", "永安"), ("Mingda", "明达"), ("Huamei", "华美"), ("Jiahe", "嘉禾"),
    ("Shengtai", "盛泰"), ("Taihe", "泰和"), ("Baili", "百利"), ("Xinda", "信达"),
    ("Haitian", "海天"), ("Jinqiao", "金桥"), ("Lianchuang", "联创"), ("Zhongxing", "众兴"),
)
#: (English, Chinese) lines of business
CN_INDUSTRY = (
    ("Technology", "科技"), ("Trading", "贸易"), ("Construction", "建设"), ("Logistics", "物流"),
    ("Food", "食品"), ("Electronics", "电子"), ("Textile", "纺织"), ("Machinery", "机械"),
    ("Property Development", "房地产开发"), ("Catering", "餐饮"), ("Chemical", "化工"),
    ("Network", "网络"), ("Culture Media", "文化传媒"), ("Investment", "投资"),
    ("Auto Parts", "汽车配件"),
)
IN_TRADE = (
    "Sunrise", "Apex", "Bharat", "Deccan", "Sahyadri", "Ganga", "Himalaya", "Kaveri", "Narmada",
    "Everest", "Pioneer", "Navbharat", "Trident", "Orbit", "Prime", "Zenith", "Unity", "Vertex",
    "Lotus", "Indus", "Konkan", "Malabar", "Coromandel", "Aravali",
)
IN_INDUSTRY = (
    "Infotech", "Textiles", "Exports", "Engineering", "Logistics", "Foods", "Constructions",
    "Agro Products", "Auto Components", "Chemicals", "Traders", "Infrastructure",
)
#: legal forms: (canonical, spelling variants)
CN_FORMS = (("Co., Ltd.", ("Co. Ltd.", "Co Ltd", "Company Limited", "Co., Limited")),)
CN_FORMS_ZH = (("有限公司", ("有限责任公司",)),)
IN_FORMS = (
    ("Pvt Ltd", ("Private Limited", "Pvt. Ltd.", "P Ltd")), ("Limited", ("Ltd", "Ltd.")),
    ("LLP", ("L.L.P.",)),
)
CN_PUBLIC = (
    "Municipal Water Affairs Bureau", "Municipal Transport Bureau",
    "Housing and Urban Construction Bureau", "Urban Management Bureau",
)
CN_PUBLIC_ZH = ("市水务局", "市交通运输局", "市住房和城乡建设局", "市城市管理局")
IN_PUBLIC = (
    "Municipal Corporation", "Development Authority", "Water Supply and Sewerage Board",
    "Smart City Ltd",
)
# fmt: on
